package state

import (
	"reflect"
	"sync"
	"time"
)

// maxRecentErrors is how many errors the support window lists.
const maxRecentErrors = 5

// Store holds the current Snapshot and tells subscribers about changes.
// It is safe for concurrent use. Publishing never blocks on a subscriber:
// each subscriber has a one-slot mailbox that always holds the newest
// snapshot, so a slow reader skips intermediate states instead of stalling
// the agent.
type Store struct {
	now func() time.Time

	mu   sync.Mutex
	cur  Snapshot
	subs map[*subscription]struct{}
	// derive computes the snapshot's derived fields (the Verdict) after
	// every change; nil leaves them alone.
	derive func(*Snapshot)
}

type subscription struct {
	ch chan Snapshot
}

// NewStore returns a store holding initial. now may be nil for time.Now.
func NewStore(initial Snapshot, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	if initial.Since.IsZero() {
		initial.Since = now()
	}
	return &Store{now: now, cur: clone(initial), subs: map[*subscription]struct{}{}}
}

// Snapshot returns a copy of the current state.
func (s *Store) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.cur)
}

// SetDerive makes f compute the snapshot's derived fields after every
// change, so that no writer can publish a state whose verdict is stale.
// It applies f to the current snapshot at once. f must be pure and quick:
// it runs under the store's lock.
func (s *Store) SetDerive(f func(*Snapshot)) {
	s.mu.Lock()
	s.derive = f
	s.mu.Unlock()
	s.Update(func(*Snapshot) {})
}

// Update applies change to the state and publishes the result only if a
// field changed: subscribers (windows, the tray, followers) then never
// redraw or react to a write that repeated the current value. It sets
// Since when the session state or the verdict's situation changes, and bumps Seq with each publish.
func (s *Store) Update(change func(*Snapshot)) Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := clone(s.cur)
	change(&next)
	if s.derive != nil {
		s.derive(&next)
	}
	// Clone again so that an empty slice the change wrote compares equal
	// to the nil one the store keeps.
	next = clone(next)
	// "Since" belongs to the headline, which the verdict may change
	// without the session (offline before a session).
	if next.Session != s.cur.Session || next.Verdict.Situation != s.cur.Verdict.Situation {
		next.Since = s.now()
	}
	next.Seq = s.cur.Seq
	if reflect.DeepEqual(next, s.cur) {
		return next
	}
	next.Seq++
	s.cur = next
	for sub := range s.subs {
		Offer(sub.ch, clone(next))
	}
	return clone(next)
}

// AddError records an error for the support window, keeping the newest few.
func (s *Store) AddError(m Message) {
	s.Update(func(sn *Snapshot) {
		sn.RecentErrors = append(sn.RecentErrors, ErrorEntry{Time: s.now(), Message: m})
		if n := len(sn.RecentErrors); n > maxRecentErrors {
			sn.RecentErrors = sn.RecentErrors[n-maxRecentErrors:]
		}
	})
}

// Offer puts v into a one-slot mailbox, replacing an unread older value,
// and never blocks: a slow reader skips values instead of stalling the
// sender. The sender must be the channel's only one (e.g. under a lock),
// so the slot it frees cannot be taken in between.
func Offer[T any](ch chan T, v T) {
	select {
	case ch <- v:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- v:
	default:
	}
}

// Subscribe returns a channel that immediately holds the current snapshot
// and then always the newest one, and a cancel function. The channel is
// never closed; stop reading after cancel.
func (s *Store) Subscribe() (<-chan Snapshot, func()) {
	sub := &subscription{ch: make(chan Snapshot, 1)}
	s.mu.Lock()
	sub.ch <- clone(s.cur)
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return sub.ch, func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.subs, sub)
			s.mu.Unlock()
		})
	}
}
