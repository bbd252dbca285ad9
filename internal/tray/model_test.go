package tray

import (
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

func catalog(tb testing.TB, lang string) *i18n.Catalog {
	tb.Helper()
	c, err := i18n.Load(assets.Translations, assets.TranslationsDir, lang)
	if err != nil {
		tb.Fatalf("i18n.Load: %v", err)
	}
	return c
}

// judged is s as the agent's store publishes it: with its verdict.
func judged(s state.Snapshot) state.Snapshot {
	situation.Derive(&s)
	return s
}

func TestModelFor(t *testing.T) {
	t.Parallel()
	de := catalog(t, i18n.German)
	en := catalog(t, i18n.English)
	tests := []struct {
		name      string
		cat       *i18n.Catalog
		snap      state.Snapshot
		wantLine  string
		wantStart bool
		wantAnn   string
		wantBadge bool
	}{
		{name: "not_connected_offers_start", cat: de, snap: state.Snapshot{Session: state.NotConnected},
			wantLine: "Homeoffice nicht verbunden", wantStart: true, wantAnn: "Mitteilungen"},
		{name: "connected_offers_end", cat: de, snap: state.Snapshot{Session: state.Connected},
			wantLine: "Verbunden – alles in Ordnung", wantStart: false, wantAnn: "Mitteilungen"},
		{name: "connecting_offers_end", cat: de, snap: state.Snapshot{Session: state.Connecting},
			wantLine: "Verbindung wird aufgebaut …", wantStart: false, wantAnn: "Mitteilungen"},
		{name: "code_needed_offers_start", cat: de, snap: state.Snapshot{Session: state.CodeNeeded},
			wantLine: "Bitte Code aus der Authenticator-App eingeben", wantStart: true, wantAnn: "Mitteilungen"},
		{name: "unread_count_in_menu", cat: de, snap: state.Snapshot{Announce: state.Announcements{Unread: 2}},
			wantLine: "Homeoffice nicht verbunden", wantStart: true, wantAnn: "Mitteilungen (2)"},
		{name: "urgent_unread_badges_icon", cat: de, snap: state.Snapshot{Announce: state.Announcements{Unread: 1, UnreadUrgent: true}},
			wantLine: "Homeoffice nicht verbunden", wantStart: true, wantAnn: "Mitteilungen (1)", wantBadge: true},
		{name: "english", cat: en, snap: state.Snapshot{Session: state.Limited, Announce: state.Announcements{Unread: 3}},
			wantLine: "Connected, but limited", wantStart: false, wantAnn: "Announcements (3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ModelFor(judged(tt.snap), tt.cat)
			if m.StateLine != tt.wantLine {
				t.Errorf("StateLine = %q, want %q", m.StateLine, tt.wantLine)
			}
			if m.ShowStart != tt.wantStart || m.ShowEnd == tt.wantStart {
				t.Errorf("ShowStart/End = %v/%v, want start=%v", m.ShowStart, m.ShowEnd, tt.wantStart)
			}
			if m.Announcements != tt.wantAnn {
				t.Errorf("Announcements = %q, want %q", m.Announcements, tt.wantAnn)
			}
			if m.Badge != tt.wantBadge {
				t.Errorf("Badge = %v, want %v", m.Badge, tt.wantBadge)
			}
			if m.Icon != tt.snap.Session.String() {
				t.Errorf("Icon = %q, want %q", m.Icon, tt.snap.Session.String())
			}
			if want := "Dienstweg – " + tt.wantLine; m.Tooltip != want {
				t.Errorf("Tooltip = %q, want %q", m.Tooltip, want)
			}
		})
	}
}

// Without a profile the tray says so and offers nothing that needs one.
func TestModelWithoutProfile(t *testing.T) {
	t.Parallel()
	m := ModelFor(judged(state.Snapshot{Session: state.NotConnected, ProfileMissing: "/etc/dienstweg/profile.json"}), catalog(t, i18n.German))
	if !m.NoProfile || m.ShowStart || m.ShowEnd {
		t.Errorf("NoProfile/ShowStart/ShowEnd = %v/%v/%v, want true/false/false", m.NoProfile, m.ShowStart, m.ShowEnd)
	}
	if m.StateLine != "Dienstweg ist noch nicht eingerichtet" || m.Tooltip != "Dienstweg – Dienstweg ist noch nicht eingerichtet" {
		t.Errorf("StateLine = %q, Tooltip = %q", m.StateLine, m.Tooltip)
	}
	if m.Icon != state.Problem.String() {
		t.Errorf("Icon = %q, want the problem icon", m.Icon)
	}
}

// Every state has an icon, so the tray never shows a blank square.
func TestEveryStateHasAnIcon(t *testing.T) {
	t.Parallel()
	for _, s := range state.Sessions() {
		for _, p := range []assets.Panel{assets.PanelLight, assets.PanelDark} {
			if _, err := assets.TrayIcon(s.String(), p, 32); err != nil {
				t.Errorf("TrayIcon(%s, %v): %v", s, p, err)
			}
		}
	}
}

func TestUpdateEntryShowsProgress(t *testing.T) {
	t.Parallel()
	de := catalog(t, i18n.German)
	tests := []struct {
		name    string
		update  state.Update
		label   string
		enabled bool
	}{
		{"idle", state.Update{State: "idle"}, "Nach Updates suchen", true},
		{"off", state.Update{State: "off"}, "Nach Updates suchen", true},
		{"checking", state.Update{State: "checking"}, "Suche nach Updates …", false},
		{"downloading", state.Update{State: "downloading", Progress: 0.42}, "Update wird geladen … 42 %", false},
		{"ready", state.Update{State: "ready", Available: "0.2.0"}, "Version 0.2.0 ist bereit zur Installation", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ModelFor(state.Snapshot{Update: tt.update}, de)
			if m.UpdateLabel != tt.label || m.UpdateEnabled != tt.enabled {
				t.Errorf("update entry = %q enabled %v, want %q %v", m.UpdateLabel, m.UpdateEnabled, tt.label, tt.enabled)
			}
			// Without self-update the entry could only fail: hidden.
			if m.ShowUpdate != (tt.update.State != "off") {
				t.Errorf("ShowUpdate = %v for state %q", m.ShowUpdate, tt.update.State)
			}
		})
	}
}

// "Start home office" does what the situation allows, and the state line
// says why (issue 15, #3 and #8): before setup it opens the wizard; when
// locked out, offline or while the portal does not answer it is greyed
// out; the old tray offered the code prompt in all of them.
func TestStartItemFollowsTheVerdict(t *testing.T) {
	t.Parallel()
	de := catalog(t, i18n.German)
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	offline := []state.Link{{Code: "local_network"}, {Code: "internet", Skipped: true}}
	portalDown := []state.Link{{Code: "local_network", OK: true}, {Code: "internet", OK: true}, {Code: "captive_portal", OK: true}, {Code: "portal"}}
	tests := []struct {
		name            string
		snap            state.Snapshot
		line            string
		enabled, wizard bool
	}{
		{"not_set_up", state.Snapshot{Enrollment: state.Enrollment{Step: "welcome"}}, "Dieser Computer ist noch nicht eingerichtet", true, true},
		{"locked_out", state.Snapshot{Enrollment: enrolled, LockedUntil: time.Now().Add(5 * time.Minute)}, "Homeoffice nicht verbunden", false, false},
		{"no_network", state.Snapshot{Enrollment: enrolled, Health: state.Health{Links: offline}}, "Keine Internetverbindung", false, false},
		{"portal_down", state.Snapshot{Enrollment: enrolled, Health: state.Health{Links: portalDown}}, "Homeoffice nicht verbunden", false, false},
		{"keyring_locked", state.Snapshot{Enrollment: enrolled, Keyring: state.Keyring{State: state.KeyringLocked, Message: &state.Message{Key: "keyring.locked"}}}, "Homeoffice nicht verbunden", false, false},
		{"session_expired", state.Snapshot{Session: state.CodeNeeded, Enrollment: enrolled}, "Bitte Code aus der Authenticator-App eingeben", true, false},
		{"not_connected", state.Snapshot{Enrollment: enrolled}, "Homeoffice nicht verbunden", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ModelFor(judged(tt.snap), de)
			if m.StateLine != tt.line {
				t.Errorf("StateLine = %q, want %q", m.StateLine, tt.line)
			}
			if !m.ShowStart || m.StartEnabled != tt.enabled || m.StartWizard != tt.wizard {
				t.Errorf("start shown/enabled/wizard = %v/%v/%v, want true/%v/%v", m.ShowStart, m.StartEnabled, m.StartWizard, tt.enabled, tt.wizard)
			}
			want := localapi.WindowCode
			if tt.wizard {
				want = localapi.WindowWizard
			}
			if got := StartWindow(m); got != want {
				t.Errorf("StartWindow = %q, want %q", got, want)
			}
		})
	}
}

// "Bildschirm wird geteilt" is greyed while IT's policy keeps safe mode
// on (the agent refuses to turn it off then).
func TestSafeModeEntryLockedByPolicy(t *testing.T) {
	t.Parallel()
	cat := catalog(t, i18n.German)
	for _, tt := range []struct {
		name    string
		setting state.Setting
		want    bool
	}{
		{"policy_keeps_it_on", state.Setting{Key: policy.KeySafeModeAlways, Value: true, Source: "policy", Locked: true}, true},
		{"policy_leaves_it_off", state.Setting{Key: policy.KeySafeModeAlways, Value: false, Source: "policy", Locked: true}, false},
		{"default", state.Setting{Key: policy.KeySafeModeAlways, Value: false, Source: "default"}, false},
	} {
		s := judged(state.Snapshot{Session: state.NotConnected, SafeMode: true, Settings: state.Settings{List: []state.Setting{tt.setting}}})
		if got := ModelFor(s, cat).SafeModeLocked; got != tt.want {
			t.Errorf("%s: SafeModeLocked = %v, want %v", tt.name, got, tt.want)
		}
	}
}
