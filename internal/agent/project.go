package agent

import (
	"context"

	"github.com/dienstweg/dienstweg/internal/state"
)

// inputs are the components' own states that the snapshot shows. Each has
// one owner (the updater, the announcement poller, the wizard); project is
// the only writer of their parts of the snapshot. The session and the
// health verdict become two more inputs once their owners expose them
// (today they still write the store themselves).
type inputs struct {
	Update     state.Update
	Announce   state.Announcements
	Enrollment state.Enrollment
	Tunnel     state.Tunnel
	Office     state.Office
	Hours      state.Hours
}

// project puts the components' states into the snapshot that the local
// API serves. It is pure, so a test can check any combination.
func project(s *state.Snapshot, in inputs) {
	s.Update = in.Update
	s.Announce = in.Announce
	s.Enrollment = in.Enrollment
	s.Tunnel = in.Tunnel
	s.Office = in.Office
	s.Hours = in.Hours
}

// setInputs changes the projection's inputs and projects them. The store
// publishes only if the snapshot changed.
func (a *Agent) setInputs(change func(*inputs)) {
	a.projMu.Lock()
	defer a.projMu.Unlock()
	change(&a.in)
	in := a.in
	a.store.Update(func(s *state.Snapshot) { project(s, in) })
}

// followComponents projects each component's state whenever it changes,
// until ctx ends.
func (a *Agent) followComponents(ctx context.Context) {
	unread, stopUnread := a.announce.SubscribeUnread()
	defer stopUnread()
	var updates <-chan state.Update // nil without an updater: never ready
	if a.updater != nil {
		ch, stop := a.updater.SubscribeStatus()
		defer stop()
		updates = ch
	}
	for {
		select {
		case <-ctx.Done():
			return
		// A delivery only wakes: reading the owner's current state under
		// projMu means a late wake-up can never put an older state back.
		case <-unread:
			a.setInputs(func(in *inputs) { in.Announce = a.announce.Unread() })
		case <-updates:
			a.setInputs(func(in *inputs) { in.Update = a.updater.Status() })
		}
	}
}
