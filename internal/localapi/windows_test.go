package localapi

import (
	"errors"
	"slices"
	"sync"

	"github.com/dienstweg/dienstweg/internal/problem"
)

// testWindows stands in for the agent's window claims: one holder per
// window; a second claim raises the holder and is refused as a conflict.
type testWindows struct {
	mu   sync.Mutex
	held map[string]chan string
}

func (w *testWindows) ClaimWindow(name string) (<-chan string, func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if holder, ok := w.held[name]; ok {
		w.send(holder, EventRaise)
		e := problem.New(problem.Conflict, "", errors.New("window is already open"))
		e.Code = "window_open"
		return nil, nil, e
	}
	if w.held == nil {
		w.held = map[string]chan string{}
	}
	ch := make(chan string, 1)
	w.held[name] = ch
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.held[name] == ch {
			delete(w.held, name)
		}
	}, nil
}

// tell sends ev to the holder of name; false if none holds it.
func (w *testWindows) tell(name, ev string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	holder, ok := w.held[name]
	if ok {
		w.send(holder, ev)
	}
	return ok
}

// closeAll tells every holder to close, as the agent does when it quits.
func (w *testWindows) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, holder := range w.held {
		w.send(holder, EventClose)
		delete(w.held, name)
	}
}

func (w *testWindows) open() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, 0, len(w.held))
	for n := range w.held {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (w *testWindows) send(ch chan string, ev string) {
	select {
	case ch <- ev:
	default:
	}
}

// everything serves every part of the API from one test double.
func everything(b interface {
	State
	Session
	WindowOwner
	Announcements
	Updates
	Enrollment
	Support
	Settings
	Quit()
}) Backend {
	return Backend{State: b, Session: b, Windows: b, Announcements: b, Updates: b, Enrollment: b, Support: b, Settings: b, Quit: b.Quit}
}
