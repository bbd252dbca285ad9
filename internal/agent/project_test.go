package agent

import (
	"testing"

	"github.com/dienstweg/dienstweg/internal/state"
)

// The projection owns exactly its inputs' parts of the snapshot and
// leaves the rest (session, health, fields the agent sets) alone.
func TestProjectWritesOnlyItsInputs(t *testing.T) {
	t.Parallel()
	s := state.Snapshot{Session: state.Connected, SafeMode: true, Update: state.Update{State: "checking"}}
	in := inputs{
		Update:     state.Update{State: "ready", Available: "0.2.0", Chosen: "now"},
		Announce:   state.Announcements{Unread: 3, UnreadUrgent: true},
		Enrollment: state.Enrollment{Enrolled: true, User: "anna"},
	}
	project(&s, in)
	if s.Update != in.Update || s.Announce != in.Announce || s.Enrollment != in.Enrollment {
		t.Errorf("projected %+v %+v %+v, want the inputs", s.Update, s.Announce, s.Enrollment)
	}
	if s.Session != state.Connected || !s.SafeMode {
		t.Errorf("projection changed fields it does not own: %+v", s)
	}
}
