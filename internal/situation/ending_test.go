package situation_test

import (
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The end of the day: the warning offers to extend, and after the end the
// verdict says "Sitzung abgelaufen" with one action, a new code, whatever
// the session's last words were.
func TestEndOfDay(t *testing.T) {
	t.Parallel()
	de, err := i18n.Load(assets.Translations, assets.TranslationsDir, i18n.German)
	if err != nil {
		t.Fatalf("i18n.Load: %v", err)
	}
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	end := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		snap      state.Snapshot
		situation string
		icon      state.Session
		headline  string
		start     state.StartAction
		end       bool
		extend    bool
	}{
		{"connected_before_warning", state.Snapshot{Session: state.Connected, Enrollment: enrolled, Authorisation: state.Authorisation{Until: end}},
			"connected", state.Connected, "Verbunden – alles in Ordnung", state.StartHidden, true, false},
		{"ends_soon", state.Snapshot{Session: state.Connected, Enrollment: enrolled, Authorisation: state.Authorisation{Until: end, EndsSoon: true}},
			situation.EndsSoon, state.Connected, "Verbunden – endet um 20:00 Uhr", state.StartHidden, true, true},
		// A limited connection keeps its headline, which matters more, and
		// still offers to extend.
		{"ends_soon_limited", state.Snapshot{Session: state.Limited, Enrollment: enrolled, Authorisation: state.Authorisation{Until: end, EndsSoon: true}},
			"limited", state.Limited, "Verbunden, aber eingeschränkt", state.StartHidden, true, true},
		{"expired", state.Snapshot{Session: state.CodeNeeded, Enrollment: enrolled, Detail: &state.Message{Key: "session.expired"},
			Authorisation: state.Authorisation{Until: end, Expired: true}},
			situation.Expired, state.CodeNeeded, "Sitzung abgelaufen", state.StartCode, false, false},
		// A stale "connected" from the projection cannot hide the end: the
		// session is what it says; the expired flag only follows a stop.
		{"expired_then_offline", state.Snapshot{Session: state.CodeNeeded, Enrollment: enrolled, Authorisation: state.Authorisation{Until: end, Expired: true},
			Health: state.Health{Links: situations()["no_network"].Health.Links}},
			situation.Offline, state.NoInternet, "Keine Internetverbindung", state.StartDisabled, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := situation.Judge(tc.snap, time.UTC)
			if v.Situation != tc.situation || v.Icon != tc.icon || v.Start != tc.start || v.End != tc.end || v.Extend != tc.extend {
				t.Errorf("Judge = %s icon %v start %q end %v extend %v, want %s icon %v start %q end %v extend %v",
					v.Situation, v.Icon, v.Start, v.End, v.Extend, tc.situation, tc.icon, tc.start, tc.end, tc.extend)
			}
			if got := de.T(v.Headline.Key, v.Headline.Args); got != tc.headline {
				t.Errorf("headline = %q, want %q", got, tc.headline)
			}
		})
	}
	v := situation.Judge(state.Snapshot{Session: state.CodeNeeded, Enrollment: enrolled, Authorisation: state.Authorisation{Until: end, Expired: true}}, time.UTC)
	if got, want := de.T(v.Advice.Key, v.Advice.Args), "Ihre Freigabe für heute ist um 20:00 Uhr abgelaufen."; got[:len(want)] != want {
		t.Errorf("advice = %q, want it to start %q", got, want)
	}
}
