package agent

import (
	"fmt"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/problem"
)

// windowClaims owns which ui process shows which window. A dienstweg-ui process
// holds its window through its watch stream (GET /v1/watch?window=NAME);
// a window is held by one process at a time, so clicking "Status" twice
// shows one window: the second claim is refused and the holder raised.
type windowClaims struct {
	launcher *launcher
	now      func() time.Time

	mu sync.Mutex
	// held maps a window to the control events (raise, close) of its
	// holder's stream; one slot, a pending event is never doubled.
	held map[string]chan string
	// last is the window claimed most recently other than the help
	// window (which counts only while it is the first), and when: the
	// screen the employee saw before asking for help, which a report
	// names.
	last   string
	lastAt time.Time
}

func newWindowClaims(now func() time.Time, l *launcher) *windowClaims {
	return &windowClaims{launcher: l, now: now, held: map[string]chan string{}}
}

// lastScreen is the window shown last before the help window ("" for
// none yet), and when it opened.
func (w *windowClaims) lastScreen() (string, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, w.lastAt
}

// open shows a window: it raises the one a ui process holds, or starts a
// process that will claim it.
func (w *windowClaims) open(name string) error {
	if w.raise(name) {
		return nil
	}
	return w.launcher.launch(name)
}

// claim gives the caller window name until release. If another process
// holds it, that one is raised and claim fails with a conflict.
func (w *windowClaims) claim(name string) (control <-chan string, release func(), err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if holder, ok := w.held[name]; ok {
		offer(holder, localapi.EventRaise)
		e := problem.New(problem.Conflict, "", fmt.Errorf("window %q is already open; it was brought to the front", name))
		e.Code = "window_open"
		return nil, nil, e
	}
	ch := make(chan string, 1)
	w.held[name] = ch
	if name != localapi.WindowSupport || w.last == "" {
		w.last, w.lastAt = name, w.now()
	}
	return ch, func() { w.release(name, ch) }, nil
}

// release ends ch's claim; a newer holder of the same window keeps its own.
func (w *windowClaims) release(name string, ch chan string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held[name] == ch {
		delete(w.held, name)
	}
}

// raise brings an open window to the front. It reports false when no ui
// process holds that window, so the caller should start one.
func (w *windowClaims) raise(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	holder, ok := w.held[name]
	if ok {
		offer(holder, localapi.EventRaise)
	}
	return ok
}

// closeAll asks every open window to close, as the agent quits; their
// streams end after sending the close.
func (w *windowClaims) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, holder := range w.held {
		// A pending raise is moot once the window closes: replace it.
		select {
		case <-holder:
		default:
		}
		offer(holder, localapi.EventClose)
		delete(w.held, name)
	}
}

// wait gives the ui processes time to close after closeAll, then ends
// the rest.
func (w *windowClaims) wait(grace time.Duration) { w.launcher.wait(grace) }

// offer sends ev unless one is already pending.
func offer(ch chan string, ev string) {
	select {
	case ch <- ev:
	default:
	}
}
