package tray

import (
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Before the end the tray says when and offers "Homeoffice verlängern";
// after it, "Sitzung abgelaufen" with Start as the one way on, never a
// stale "Verbunden".
func TestModelEndOfDay(t *testing.T) {
	t.Parallel()
	de := catalog(t, i18n.German)
	end := time.Date(2026, 11, 30, 20, 0, 0, 0, time.Local)
	soon := ModelFor(judged(state.Snapshot{Session: state.Connected, Authorisation: state.Authorisation{Until: end, EndsSoon: true}}), de)
	if soon.StateLine != "Verbunden – endet um 20:00 Uhr" || !soon.ShowExtend || !soon.ShowEnd || soon.ShowStart || soon.Icon != "connected" {
		t.Errorf("ending soon: %+v", soon)
	}
	gone := ModelFor(judged(state.Snapshot{Session: state.CodeNeeded, Authorisation: state.Authorisation{Until: end, Expired: true}}), de)
	if gone.StateLine != "Sitzung abgelaufen" || gone.ShowExtend || gone.ShowEnd || !gone.ShowStart || !gone.StartEnabled || gone.Icon != "code_needed" {
		t.Errorf("expired: %+v", gone)
	}
	if StartWindow(gone) != "code" {
		t.Errorf("Start after expiry opens %q, want the code prompt", StartWindow(gone))
	}
}
