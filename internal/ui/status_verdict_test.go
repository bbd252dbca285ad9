package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The status window's headline, next step and buttons agree in every
// situation (issue 15, #8): the old window said "click Start home office"
// and opened the code prompt while locked out, offline or before setup,
// and headed "not connected" when the laptop was offline.
func TestStatusWindowAgreesWithItself(t *testing.T) {
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	offline := []state.Link{{Code: "local_network"}, {Code: "internet", Skipped: true}}
	portalDown := []state.Link{{Code: "local_network", OK: true}, {Code: "internet", OK: true}, {Code: "captive_portal", OK: true}, {Code: "portal"}}
	lock := time.Date(2026, 11, 23, 8, 57, 30, 0, time.UTC)
	tests := []struct {
		name     string
		snap     state.Snapshot
		line     string
		next     string // a part of the next step
		start    bool   // Start shown and enabled
		opens    string // the window Start opens
		end      bool
		noStartT bool // Start shown, but greyed out
	}{
		{name: "not_set_up", snap: state.Snapshot{Enrollment: state.Enrollment{Step: "welcome"}},
			line: "Dieser Computer ist noch nicht eingerichtet", next: "öffnet sich die Einrichtung", start: true, opens: localapi.WindowWizard},
		{name: "locked_out", snap: state.Snapshot{Enrollment: enrolled, LockedUntil: lock},
			line: "Homeoffice nicht verbunden", next: "Warten Sie bis", noStartT: true},
		{name: "no_network", snap: state.Snapshot{Enrollment: enrolled, Health: state.Health{Links: offline}},
			line: "Keine Internetverbindung", next: "Prüfen Sie Ihr WLAN", noStartT: true},
		{name: "portal_down", snap: state.Snapshot{Enrollment: enrolled, Health: state.Health{Links: portalDown}, Helpdesk: state.Helpdesk{Phone: "05221 123-4567"}},
			line: "Homeoffice nicht verbunden", next: "05221 123-4567", noStartT: true},
		{name: "keyring_locked", snap: state.Snapshot{Enrollment: enrolled, Keyring: state.Keyring{State: state.KeyringLocked, Message: &state.Message{Key: "keyring.locked"}}},
			line: "Homeoffice nicht verbunden", next: "Passwortspeicher ist gesperrt", noStartT: true},
		{name: "session_expired", snap: state.Snapshot{Session: state.CodeNeeded, Enrollment: enrolled},
			line: "Bitte Code aus der Authenticator-App eingeben", next: "6-stelligen Code", start: true, opens: localapi.WindowCode},
		{name: "connected", snap: state.Snapshot{Session: state.Connected, Enrollment: enrolled},
			line: "Verbunden – alles in Ordnung", next: "wie im Büro", end: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := test.NewTempApp(t)
			a.Settings().SetTheme(newTheme())
			c := &recordingClient{}
			w := NewStatusWindow(a, c)
			w.async = inline
			tt.snap.TrayVisible = true
			w.Apply(judged(tt.snap))
			if w.stateLine.Text != tt.line {
				t.Errorf("headline = %q, want %q", w.stateLine.Text, tt.line)
			}
			if !strings.Contains(w.next.Text, tt.next) {
				t.Errorf("next step = %q, want it to contain %q", w.next.Text, tt.next)
			}
			shown := w.start.Visible()
			if shown != (tt.start || tt.noStartT) || w.start.Disabled() == tt.start || w.end.Visible() != tt.end {
				t.Errorf("start shown %v disabled %v, end shown %v; want start %v (greyed %v), end %v",
					shown, w.start.Disabled(), w.end.Visible(), tt.start, tt.noStartT, tt.end)
			}
			if !tt.start {
				return
			}
			test.Tap(w.start)
			if _, opened, _ := c.snapshot(); len(opened) != 1 || opened[0] != tt.opens {
				t.Errorf("Start opened %v, want %s", opened, tt.opens)
			}
		})
	}
}

// The status window opens small enough for a 1366×768 screen at 125 %
// (it opened 716 px tall), with the headline, the next step and the
// buttons in view; only the chain scrolls.
func TestStatusWindowFitsASmallScreen(t *testing.T) {
	if StatusSize.Height > smallScreenHeight {
		t.Errorf("status window opens %v", StatusSize)
	}
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	w := NewStatusWindow(a, &recordingClient{})
	w.async = inline
	w.Window.Resize(StatusSize)
	w.Apply(judged(state.Snapshot{Session: state.NotConnected, Enrollment: state.Enrollment{Step: "welcome"}, TrayVisible: true}))
	canvas := w.Window.Canvas().Size()
	for name, o := range map[string]fyne.CanvasObject{"headline": w.stateLine, "next step": w.next, "start": w.start} {
		pos := a.Driver().AbsolutePositionForObject(o)
		if end := pos.Y + o.Size().Height; !o.Visible() || pos.Y < 0 || end > canvas.Height {
			t.Errorf("%s at y %.0f–%.0f, window %v", name, pos.Y, end, canvas)
		}
	}
}

// "Verbunden" through the proxy alone is not the office at the desk: the
// status window says which programs reach it and which do not (issue 16),
// and says nothing where every program does.
func TestStatusWindowSaysWhatTheProxyOnlyModeReaches(t *testing.T) {
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	tests := []struct {
		name   string
		tunnel state.Tunnel
		note   []string // parts of the notice; none: no notice
	}{
		{name: "system", tunnel: state.Tunnel{Policy: "auto", Mode: state.TunnelModeSystem, Helper: state.HelperAnswers}},
		{name: "not_known_yet", tunnel: state.Tunnel{Policy: "auto"}},
		{name: "proxy_only", tunnel: state.Tunnel{Policy: "auto", Mode: state.TunnelModeUserspace, Helper: state.HelperMissing, Proxy: "127.0.0.1:1080"},
			note: []string{"Nur über den Proxy", "127.0.0.1:1080", "E-Mail, Netzlaufwerke und die Fachverfahren der Stadt erreichen das Büro so nicht"}},
		{name: "proxy_only_without_proxy", tunnel: state.Tunnel{Policy: "userspace", Mode: state.TunnelModeUserspace},
			note: []string{"Nur über den Proxy", "Kein anderes Programm erreicht das Büro"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := test.NewTempApp(t)
			a.Settings().SetTheme(newTheme())
			w := NewStatusWindow(a, &recordingClient{})
			w.async = inline
			w.Apply(judged(state.Snapshot{Session: state.Connected, Enrollment: enrolled, TrayVisible: true, Tunnel: tt.tunnel}))
			if len(tt.note) == 0 {
				if w.tunnel.Visible() {
					t.Errorf("a tunnel notice: %q %q", w.tunnelTitle.Text, w.tunnelBody.Text)
				}
				return
			}
			if !w.tunnel.Visible() {
				t.Fatal("no tunnel notice")
			}
			text := w.tunnelTitle.Text + " " + w.tunnelBody.Text
			for _, part := range tt.note {
				if !strings.Contains(text, part) {
					t.Errorf("notice %q lacks %q", text, part)
				}
			}
			if strings.Contains(w.next.Text, "wie im Büro") {
				t.Errorf("next step %q promises the office at the desk", w.next.Text)
			}
		})
	}
}
