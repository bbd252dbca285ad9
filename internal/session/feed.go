package session

import (
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/state"
)

// Status is the session as its controller sees it. It is a value: the
// Detail it hands out is never shared.
type Status struct {
	// Phase is one of NotConnected, Connecting, Connected, CodeNeeded and
	// Problem; the health checks' Limited and No internet are the
	// agent's projection, not the session's.
	Phase  state.Session
	Detail *state.Message
	// Until is the end of the day's authorisation; zero when unknown.
	Until time.Time
	// LockedUntil: the portal refuses codes until then after too many
	// wrong ones; zero when no lock holds.
	LockedUntil time.Time
	// Since is when Phase was entered.
	Since time.Time
	// Running is true while the session holds a tunnel and its
	// supervisor keeps it up, Reconnecting while it is re-establishing it.
	Running, Reconnecting bool
	// EndsSoon: a running session's authorisation ends within
	// Options.WarnBefore; a new code extends it (Extend).
	EndsSoon bool
	// Expired: the last session ended because its authorisation ran
	// out; a new code starts the next. False again once one starts or
	// the employee ends home office.
	Expired bool
}

// EventKind names an edge of the session's life.
type EventKind int

// The edges. They are told once each, in order.
const (
	// Started: Start authorised the session and brought the tunnel up.
	Started EventKind = iota + 1
	// Ended: End, Close or a new Start ended a running session.
	Ended
	// Expired: the day's authorisation ran out; a new code is needed.
	Expired
	// Revoked: the portal no longer knows this device.
	Revoked
	// EndsSoon: the authorisation ends within Options.WarnBefore; told
	// once per end (again after an extension that still ends soon).
	EndsSoon
	// Extended: a new code moved the end of the authorisation; the
	// tunnel stayed up.
	Extended
)

var eventNames = [...]string{Started: "started", Ended: "ended", Expired: "expired", Revoked: "revoked", EndsSoon: "ends_soon", Extended: "extended"}

func (k EventKind) String() string {
	if k <= 0 || int(k) >= len(eventNames) {
		return "unknown"
	}
	return eventNames[k]
}

// Event is one edge, with the time it happened.
type Event struct {
	Kind EventKind
	At   time.Time
	// Until is the authorisation's end, with EndsSoon and Extended.
	Until time.Time
}

// Feed holds a session's Status for subscribers and queues its events. It
// is safe for concurrent use. The controller publishes through it; stand-
// ins for the controller in other packages' tests may embed one.
//
// Status subscribers have a one-slot mailbox (state.Offer): they see the
// newest Status and may skip intermediate ones. Event subscribers never
// miss one: each has its own queue, which grows while the reader is slow
// (a session has a handful of edges a day, so it stays small).
type Feed struct {
	mu     sync.Mutex
	cur    Status
	subs   map[chan Status]struct{}
	events map[*eventQueue]struct{}
}

// NewFeed returns a feed holding initial.
func NewFeed(initial Status) *Feed {
	return &Feed{cur: cloneStatus(initial), subs: map[chan Status]struct{}{}, events: map[*eventQueue]struct{}{}}
}

func cloneStatus(s Status) Status {
	if s.Detail != nil {
		m := *s.Detail
		if m.Args != nil {
			args := make(map[string]string, len(m.Args))
			for k, v := range m.Args {
				args[k] = v
			}
			m.Args = args
		}
		s.Detail = &m
	}
	return s
}

// Status returns the current status.
func (f *Feed) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneStatus(f.cur)
}

// Set publishes s, keeping Since when the phase stays; now stamps a new
// phase. It reports whether anything changed; an unchanged status is not
// published.
func (f *Feed) Set(s Status, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.Phase == f.cur.Phase {
		s.Since = f.cur.Since
	} else {
		s.Since = now
	}
	if sameStatus(s, f.cur) {
		return false
	}
	f.cur = cloneStatus(s)
	for ch := range f.subs {
		state.Offer(ch, cloneStatus(s))
	}
	return true
}

func sameStatus(a, b Status) bool {
	if a.Phase != b.Phase || !a.Until.Equal(b.Until) || !a.LockedUntil.Equal(b.LockedUntil) || !a.Since.Equal(b.Since) || a.Running != b.Running || a.Reconnecting != b.Reconnecting ||
		a.EndsSoon != b.EndsSoon || a.Expired != b.Expired {
		return false
	}
	if (a.Detail == nil) != (b.Detail == nil) {
		return false
	}
	if a.Detail == nil {
		return true
	}
	if a.Detail.Key != b.Detail.Key || len(a.Detail.Args) != len(b.Detail.Args) {
		return false
	}
	for k, v := range a.Detail.Args {
		if b.Detail.Args[k] != v {
			return false
		}
	}
	return true
}

// Subscribe returns a mailbox that holds the current status at once and
// then always the newest, and a cancel function. The channel is never
// closed; stop reading after cancel.
func (f *Feed) Subscribe() (<-chan Status, func()) {
	ch := make(chan Status, 1)
	f.mu.Lock()
	ch <- cloneStatus(f.cur)
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, ch)
			f.mu.Unlock()
		})
	}
}

// Emit queues e for every event subscriber. It never blocks.
func (f *Feed) Emit(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for q := range f.events {
		q.push(e)
	}
}

// Events returns the events from now on, in order and none dropped, and a
// cancel function that stops the delivery; the channel is never closed.
func (f *Feed) Events() (<-chan Event, func()) {
	q := &eventQueue{out: make(chan Event), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	f.mu.Lock()
	f.events[q] = struct{}{}
	f.mu.Unlock()
	go q.deliver()
	var once sync.Once
	return q.out, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.events, q)
			f.mu.Unlock()
			close(q.stop)
		})
	}
}

// eventQueue hands one subscriber its events through an unbounded queue,
// so the publisher never waits for the reader and the reader never loses
// an edge.
type eventQueue struct {
	mu      sync.Mutex
	pending []Event
	out     chan Event
	wake    chan struct{}
	stop    chan struct{}
}

func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	q.pending = append(q.pending, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) deliver() {
	for {
		q.mu.Lock()
		var next *Event
		if len(q.pending) > 0 {
			e := q.pending[0]
			next = &e
		}
		q.mu.Unlock()
		if next == nil {
			select {
			case <-q.wake:
				continue
			case <-q.stop:
				return
			}
		}
		select {
		case q.out <- *next:
			q.mu.Lock()
			q.pending = q.pending[1:]
			q.mu.Unlock()
		case <-q.stop:
			return
		}
	}
}
