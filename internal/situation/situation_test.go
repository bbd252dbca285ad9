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

// Situations are the snapshots that issue 15 (#3, #8) found contradicting
func situations() map[string]state.Snapshot {
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	links := func(failing string) []state.Link {
		var out []state.Link
		after := false
		for _, c := range health.Checks {
			if c.Tunnel {
				continue
			}
			l := state.Link{Code: c.Code, OK: true}
			switch {
			case after:
				l.OK, l.Skipped = false, true
			case c.Code == failing:
				l.OK, after = false, true
			}
			out = append(out, l)
		}
		return out
	}
	return map[string]state.Snapshot{
		"not_set_up":     {Session: state.NotConnected, Enrollment: state.Enrollment{Step: "welcome"}, Health: state.Health{Links: links("")}},
		"locked_out":     {Session: state.NotConnected, Enrollment: enrolled, LockedUntil: time.Date(2026, 11, 29, 18, 57, 30, 0, time.UTC)},
		"no_network":     {Session: state.NotConnected, Enrollment: enrolled, Health: state.Health{Links: links(health.LocalNetwork)}},
		"captive_portal": {Session: state.NotConnected, Enrollment: enrolled, Health: state.Health{Links: links(health.CaptivePortal)}},
		"portal_down":    {Session: state.NotConnected, Enrollment: enrolled, Health: state.Health{Links: links(health.Portal)}},
		"connected":      {Session: state.Connected, Enrollment: enrolled, Health: state.Health{Links: links("")}},
		"offline_in_session": {Session: state.NoInternet, Enrollment: enrolled,
			Health: state.Health{Links: links(health.Internet)}},
		"session_expired": {Session: state.CodeNeeded, Enrollment: enrolled, Detail: &state.Message{Key: "session.expired"},
			Authorisation: state.Authorisation{Until: time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC), Expired: true}},
		"keyring_locked": {Session: state.NotConnected, Enrollment: state.Enrollment{Step: "welcome"},
			Keyring: state.Keyring{State: state.KeyringLocked, Message: &state.Message{Key: "keyring.locked"}}},
		"not_connected":     {Session: state.NotConnected, Enrollment: enrolled, Health: state.Health{Links: links("")}},
		"wizard_not_read":   {Session: state.NotConnected},
		"no_profile":        {Session: state.NotConnected, ProfileMissing: "/etc/dienstweg/profile.json"},
		"locked_in_session": {Session: state.Connected, Enrollment: enrolled, LockedUntil: time.Date(2026, 11, 29, 18, 57, 30, 0, time.UTC)},
		"connected_system": {Session: state.Connected, Enrollment: enrolled, Health: state.Health{Links: links("")},
			Tunnel: state.Tunnel{Policy: "auto", Mode: state.TunnelModeSystem, Helper: state.HelperAnswers}},
		"connected_proxy_only": {Session: state.Connected, Enrollment: enrolled, Health: state.Health{Links: links("")},
			Tunnel: state.Tunnel{Policy: "auto", Mode: state.TunnelModeUserspace, Helper: state.HelperMissing, Proxy: "127.0.0.1:1080"}},
		"helper_missing": {Session: state.NotConnected, Enrollment: enrolled, Health: state.Health{Links: links("")},
			Tunnel: state.Tunnel{Policy: "system", Helper: state.HelperMissing}},
		"helper_refused": {Session: state.NotConnected, Enrollment: enrolled, Health: state.Health{Links: links("")},
			Tunnel: state.Tunnel{Policy: "system", Helper: state.HelperRefused}},
		"helper_missing_after_failed_start": {Session: state.NotConnected, Enrollment: enrolled, Detail: &state.Message{Key: situation.KeyHelperMissing},
			Tunnel: state.Tunnel{Policy: "system", Helper: state.HelperMissing}},
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	de, err := i18n.Load(assets.Translations, assets.TranslationsDir, i18n.German)
	if err != nil {
		t.Fatalf("i18n.Load: %v", err)
	}
	tests := []struct {
		name      string
		situation string
		icon      state.Session
		headline  string
		advice    string // a part of the advice
		start     state.StartAction
		end       bool
	}{
		{"not_set_up", situation.NotSetUp, state.NotConnected, "Dieser Computer ist noch nicht eingerichtet", "öffnet sich die Einrichtung", state.StartWizard, false},
		{"locked_out", situation.LockedOut, state.NotConnected, "Homeoffice nicht verbunden", "Warten Sie bis 18:58 Uhr", state.StartDisabled, false},
		{"no_network", situation.Offline, state.NoInternet, "Keine Internetverbindung", "Prüfen Sie Ihr WLAN", state.StartDisabled, false},
		{"captive_portal", situation.Offline, state.NoInternet, "Keine Internetverbindung", "wieder im Internet", state.StartDisabled, false},
		{"portal_down", situation.PortalDown, state.NotConnected, "Homeoffice nicht verbunden", "antwortet gerade nicht", state.StartDisabled, false},
		{"connected", "connected", state.Connected, "Verbunden – alles in Ordnung", "wie im Büro", state.StartHidden, true},
		{"offline_in_session", "no_internet", state.NoInternet, "Keine Internetverbindung", "Prüfen Sie Ihr WLAN", state.StartHidden, true},
		{"session_expired", situation.Expired, state.CodeNeeded, "Sitzung abgelaufen", "um 20:00 Uhr abgelaufen", state.StartCode, false},
		{"keyring_locked", situation.KeyringLocked, state.NotConnected, "Homeoffice nicht verbunden", "Passwortspeicher ist gesperrt", state.StartDisabled, false},
		{"not_connected", "not_connected", state.NotConnected, "Homeoffice nicht verbunden", "„Homeoffice starten“", state.StartCode, false},
		// Until the wizard has read the keyring, "not set up" is not known.
		{"wizard_not_read", "not_connected", state.NotConnected, "Homeoffice nicht verbunden", "„Homeoffice starten“", state.StartCode, false},
		{"no_profile", situation.NoProfile, state.Problem, "Dienstweg ist noch nicht eingerichtet", "IT-Service", state.StartHidden, false},
		// A running session stays what it is; the lock is about new codes.
		{"locked_in_session", "connected", state.Connected, "Verbunden – alles in Ordnung", "wie im Büro", state.StartHidden, true},
		// Connected means every program only with the helper; through the
		// proxy alone the advice says what does not work.
		{"connected_system", "connected", state.Connected, "Verbunden – alles in Ordnung", "wie im Büro", state.StartHidden, true},
		{"connected_proxy_only", "connected", state.Connected, "Verbunden – nur über den Proxy", "E-Mail und Netzlaufwerke gehen so nicht", state.StartHidden, true},
		// The profile needs the helper: a start cannot work until IT has
		// fixed it, and it looks again.
		{"helper_missing", situation.HelperMissing, state.NotConnected, "Homeoffice nicht verbunden", "Dienstweg-Hilfsdienst auf diesem Computer antwortet nicht", state.StartCode, false},
		{"helper_refused", situation.HelperMissing, state.NotConnected, "Homeoffice nicht verbunden", "lässt Ihr Benutzerkonto aber nicht zu", state.StartCode, false},
		{"helper_missing_after_failed_start", situation.HelperMissing, state.NotConnected, "Homeoffice nicht verbunden", "Dienstweg-Hilfsdienst auf diesem Computer antwortet nicht", state.StartCode, false},
	}
	snaps := situations()
	if len(snaps) != len(tests) {
		t.Fatalf("%d situations, %d expectations", len(snaps), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap, ok := snaps[tt.name]
			if !ok {
				t.Fatalf("no situation %q", tt.name)
			}
			v := situation.Judge(snap, time.UTC)
			if v.Situation != tt.situation || v.Icon != tt.icon || v.Start != tt.start || v.End != tt.end {
				t.Errorf("Judge = %s icon %v start %q end %v, want %s icon %v start %q end %v",
					v.Situation, v.Icon, v.Start, v.End, tt.situation, tt.icon, tt.start, tt.end)
			}
			if got := de.T(v.Headline.Key, v.Headline.Args); got != tt.headline {
				t.Errorf("headline = %q, want %q", got, tt.headline)
			}
			advice := de.T(v.Advice.Key, v.Advice.Args)
			if !strings.Contains(advice, tt.advice) {
				t.Errorf("advice = %q, want it to contain %q", advice, tt.advice)
			}
			// The advice never sends the person to a button that is not
			// there; where "Start" is greyed out it says when it helps.
			if strings.Contains(advice, "„Homeoffice starten“") && v.Start == state.StartHidden {
				t.Errorf("advice %q names „Homeoffice starten“, which is not offered", advice)
			}
			if v.Start == state.StartDisabled && strings.HasPrefix(advice, "Klicken Sie auf „Homeoffice starten“") {
				t.Errorf("advice %q says to click a greyed-out button", advice)
			}
		})
	}
}

// The store derives the verdict after every write, whoever writes: the
// health monitor, the session's mirror or the keyring follower.
func TestStoreDerivesOnEveryWrite(t *testing.T) {
	t.Parallel()
	s := state.NewStore(state.Snapshot{Session: state.NotConnected, Enrollment: state.Enrollment{Enrolled: true, Step: "done"}}, nil)
	s.SetDerive(situation.Derive)
	if got := s.Snapshot().Verdict.Start; got != state.StartCode {
		t.Fatalf("start = %q at first, want code", got)
	}
	s.Update(func(sn *state.Snapshot) { sn.Health.Links = situations()["no_network"].Health.Links })
	if v := s.Snapshot().Verdict; v.Situation != situation.Offline || v.Start != state.StartDisabled {
		t.Errorf("after health wrote: %s / %q, want offline / disabled", v.Situation, v.Start)
	}
	s.Update(func(sn *state.Snapshot) { sn.Health.Links = nil; sn.Session = state.Connecting })
	if v := s.Snapshot().Verdict; v.Situation != "connecting" || !v.End {
		t.Errorf("after the session wrote: %s / end %v, want connecting / true", v.Situation, v.End)
	}
}
