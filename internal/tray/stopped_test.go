package tray

import (
	"testing"

	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/state"
)

// After a failed start the tray shows the problem and offers
// „Homeoffice starten“, not „Homeoffice beenden“: nothing runs.
func TestFailedStartOffersStartNotEnd(t *testing.T) {
	t.Parallel()
	de := catalog(t, i18n.German)
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	failed := ModelFor(judged(state.Snapshot{Session: state.Problem, Enrollment: enrolled}), de)
	if !failed.ShowStart || !failed.StartEnabled || failed.ShowEnd || failed.Icon != "problem" {
		t.Errorf("failed start: start %v/%v, end %v, icon %s; want start offered, no end, problem icon",
			failed.ShowStart, failed.StartEnabled, failed.ShowEnd, failed.Icon)
	}
	running := ModelFor(judged(state.Snapshot{Session: state.Problem, Running: true, Enrollment: enrolled}), de)
	if running.ShowStart || !running.ShowEnd || running.Icon != "problem" {
		t.Errorf("running session with a problem: start %v, end %v, icon %s; want end only, problem icon",
			running.ShowStart, running.ShowEnd, running.Icon)
	}
}
