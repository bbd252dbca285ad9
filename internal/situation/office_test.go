package situation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// In the office, home office is not offered, whatever else stands in its
// way; setting up still is, and a running session is not ended behind
// the person's back but called unnecessary.
func TestJudgeInOffice(t *testing.T) {
	t.Parallel()
	de, err := i18n.Load(assets.Translations, assets.TranslationsDir, i18n.German)
	if err != nil {
		t.Fatalf("i18n.Load: %v", err)
	}
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	office := state.Office{InOffice: true}
	portalDown := []state.Link{{Code: health.LocalNetwork, OK: true}, {Code: health.Internet, OK: true}, {Code: health.Portal}}
	tests := []struct {
		name      string
		snap      state.Snapshot
		situation string
		headline  string
		advice    string
		start     state.StartAction
		end       bool
	}{
		{"in_office", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Office: office},
			situation.InOffice, "Sie sind im Büro", "Homeoffice wird hier nicht gebraucht", state.StartHidden, false},
		{"in_office_wizard_not_read", state.Snapshot{Session: state.NotConnected, Office: office},
			situation.InOffice, "Sie sind im Büro", "Homeoffice wird hier nicht gebraucht", state.StartHidden, false},
		{"in_office_portal_unreachable", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Office: office, Health: state.Health{Links: portalDown}},
			situation.InOffice, "Sie sind im Büro", "Homeoffice wird hier nicht gebraucht", state.StartHidden, false},
		{"in_office_keyring_locked", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Office: office,
			Keyring: state.Keyring{State: state.KeyringLocked, Message: &state.Message{Key: "keyring.locked"}}},
			situation.InOffice, "Sie sind im Büro", "Homeoffice wird hier nicht gebraucht", state.StartHidden, false},
		{"in_office_locked_out", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Office: office, LockedUntil: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},
			situation.InOffice, "Sie sind im Büro", "Homeoffice wird hier nicht gebraucht", state.StartHidden, false},
		// IT may hand out laptops in the office: setting up is offered.
		{"in_office_not_set_up", state.Snapshot{Session: state.NotConnected, Enrollment: state.Enrollment{Step: "welcome"}, Office: office},
			situation.NotSetUp, "Dieser Computer ist noch nicht eingerichtet", "öffnet sich die Einrichtung", state.StartWizard, false},
		// Policy allow_start_in_office: as anywhere else.
		{"in_office_start_allowed", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Office: state.Office{InOffice: true, StartAllowed: true}},
			"not_connected", "Homeoffice nicht verbunden", "„Homeoffice starten“", state.StartCode, false},
		{"in_office_session_runs", state.Snapshot{Session: state.Connected, Enrollment: enrolled, Office: office},
			"connected", "Verbunden – alles in Ordnung", "Homeoffice läuft noch, wird hier aber nicht gebraucht", state.StartHidden, true},
		{"in_office_session_allowed", state.Snapshot{Session: state.Connected, Enrollment: enrolled, Office: state.Office{InOffice: true, StartAllowed: true}},
			"connected", "Verbunden – alles in Ordnung", "wie im Büro", state.StartHidden, true},
		{"left_office", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled},
			"not_connected", "Homeoffice nicht verbunden", "„Homeoffice starten“", state.StartCode, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := situation.Judge(tt.snap, time.UTC)
			if v.Situation != tt.situation || v.Start != tt.start || v.End != tt.end {
				t.Errorf("Judge = %s start %q end %v, want %s start %q end %v", v.Situation, v.Start, v.End, tt.situation, tt.start, tt.end)
			}
			if got := de.T(v.Headline.Key, v.Headline.Args); got != tt.headline {
				t.Errorf("headline = %q, want %q", got, tt.headline)
			}
			advice := de.T(v.Advice.Key, v.Advice.Args)
			if !strings.Contains(advice, tt.advice) {
				t.Errorf("advice = %q, want it to contain %q", advice, tt.advice)
			}
			if strings.Contains(advice, "„Homeoffice starten“") && !v.Start.Shown() {
				t.Errorf("advice %q names „Homeoffice starten“, which is not offered", advice)
			}
		})
	}
}
