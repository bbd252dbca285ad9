package ui

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

func TestMain(m *testing.M) {
	// Golden markup must not depend on the machine's zone or language.
	time.Local = time.UTC
	goAsync = inline
	if err := SetLanguage("de"); err != nil {
		panic(err)
	}
	// A window of a real-window test runs in a child of the test binary.
	if name := os.Getenv(realWindowEnv); name != "" {
		os.Exit(runRealWindow(name))
	}
	os.Exit(m.Run())
}

// recordingClient is a fake of the local API client; the real one is
// tested in internal/localapi and end to end in internal/agent.
type recordingClient struct {
	mu       sync.Mutex
	codes    []string
	opened   []string
	ended    int
	startErr error
	diagErr  error
	actions  []localapi.EnrollAction
	nextView enroll.View
	// settingsSet records SetSetting calls as "key=value".
	settingsSet []string
	settingErr  error
	// reportErr fails SendReport; reports counts the calls.
	reportErr error
	reports   int
}

func (c *recordingClient) Watch(context.Context, string) (<-chan localapi.Event, error) {
	return nil, localapi.ErrAgentNotRunning
}
func (c *recordingClient) StartSession(_ context.Context, code string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.codes = append(c.codes, code)
	return c.startErr
}
func (c *recordingClient) EndSession(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended++
	return nil
}
func (c *recordingClient) OpenWindow(_ context.Context, w string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opened = append(c.opened, w)
	return nil
}

func (c *recordingClient) SetSetting(_ context.Context, key string, value any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settingsSet = append(c.settingsSet, fmt.Sprintf("%s=%v", key, value))
	return c.settingErr
}

func (c *recordingClient) Diagnostics(_ context.Context, w io.Writer) error {
	if c.diagErr != nil {
		return c.diagErr
	}
	_, err := io.WriteString(w, "PK\x03\x04 zip")
	return err
}

func (c *recordingClient) SendReport(context.Context) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reports++
	if c.reportErr != nil {
		return time.Time{}, c.reportErr
	}
	return time.Date(2026, 11, 23, 9, 41, 0, 0, time.Local), nil
}

func (c *recordingClient) Enroll(_ context.Context, act localapi.EnrollAction) (enroll.View, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.actions = append(c.actions, act)
	return c.nextView, nil
}

func (c *recordingClient) WatchEnroll(context.Context) (<-chan enroll.View, error) {
	return nil, localapi.ErrAgentNotRunning
}

func (c *recordingClient) Announcements(context.Context) ([]announce.Item, error) { return nil, nil }

func (c *recordingClient) MarkRead(context.Context, localapi.MarkReadRequest) error { return nil }

func (c *recordingClient) ChooseUpdate(_ context.Context, choice string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opened = append(c.opened, "update:"+choice)
	return nil
}

func (c *recordingClient) OpenDesktop(_ context.Context, name string) (localapi.DesktopOpened, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opened = append(c.opened, "desktop:"+name)
	return localapi.DesktopOpened{Client: "remmina", Message: state.Message{Key: "desktop.opened", Args: map[string]string{"Desktop": name, "Client": "Remmina"}}}, nil
}

func (c *recordingClient) Quit(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opened = append(c.opened, "quit")
	return nil
}

func (c *recordingClient) snapshot() (codes, opened []string, ended int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.codes...), append([]string(nil), c.opened...), c.ended
}

func inline(f func()) { f() }

var since = time.Date(2026, 11, 23, 8, 12, 0, 0, time.UTC)

// judged is s as the agent's store publishes it: with its verdict.
func judged(s state.Snapshot) state.Snapshot {
	situation.Derive(&s)
	return s
}

func TestStatusModelFor(t *testing.T) {
	tests := []struct {
		name      string
		snap      state.Snapshot
		wantLine  string
		wantNext  string
		wantStart bool
		wantTray  bool
	}{
		{name: "not_connected", snap: state.Snapshot{Session: state.NotConnected, TrayVisible: true},
			wantLine: "Homeoffice nicht verbunden", wantNext: "Klicken Sie auf „Homeoffice starten“, wenn Sie mit der Arbeit beginnen möchten.", wantStart: true, wantTray: true},
		{name: "connected", snap: state.Snapshot{Session: state.Connected, TrayVisible: true},
			wantLine: "Verbunden – alles in Ordnung", wantNext: "Sie können wie im Büro arbeiten.", wantTray: true},
		{name: "problem_names_helpdesk", snap: state.Snapshot{Session: state.Problem, Running: true, TrayVisible: true, Helpdesk: state.Helpdesk{Phone: "05221 123-4567"}},
			wantLine: "Störung – siehe Details", wantNext: "Rufen Sie den IT-Service an: 05221 123-4567", wantTray: true},
		// A failed start: nothing runs, so a new start, not an end.
		{name: "failed_start_offers_start", snap: state.Snapshot{Session: state.Problem, TrayVisible: true, Helpdesk: state.Helpdesk{Phone: "05221 123-4567"}},
			wantLine: "Störung – siehe Details", wantNext: "Homeoffice läuft nicht. Oben steht, woran es lag und was Sie tun können. Danach klicken Sie auf „Homeoffice starten“, um es noch einmal zu versuchen. Klappt es wieder nicht, rufen Sie den IT-Service an: 05221 123-4567", wantStart: true, wantTray: true},
		{name: "no_tray_explains", snap: state.Snapshot{Session: state.NotConnected},
			wantLine: "Homeoffice nicht verbunden", wantNext: "Klicken Sie auf „Homeoffice starten“, wenn Sie mit der Arbeit beginnen möchten.", wantStart: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := StatusModelFor(judged(tt.snap), time.UTC)
			if m.StateLine != tt.wantLine {
				t.Errorf("StateLine = %q, want %q", m.StateLine, tt.wantLine)
			}
			if m.NextStep != tt.wantNext {
				t.Errorf("NextStep = %q, want %q", m.NextStep, tt.wantNext)
			}
			if m.ShowStart != tt.wantStart || m.ShowEnd == tt.wantStart {
				t.Errorf("ShowStart/ShowEnd = %v/%v, want start=%v", m.ShowStart, m.ShowEnd, tt.wantStart)
			}
			if m.NoTray == tt.wantTray {
				t.Errorf("NoTray = %v with TrayVisible=%v", m.NoTray, tt.snap.TrayVisible)
			}
		})
	}
}

// A locked keyring is told in the status window as the next step,
// before a health diagnosis, while nothing runs; Start waits for it.
func TestStatusModelTellsLockedKeyring(t *testing.T) {
	snap := state.Snapshot{Session: state.NotConnected, TrayVisible: true,
		Health:  state.Health{Diagnosis: &state.Message{Key: "health.diag.internet"}},
		Keyring: state.Keyring{State: state.KeyringLocked, Message: &state.Message{Key: "keyring.locked"}}}
	m := StatusModelFor(judged(snap), time.UTC)
	if !strings.Contains(m.NextStep, "Passwortspeicher ist gesperrt") || m.StartEnabled {
		t.Errorf("NextStep = %q, start enabled %v; want the locked-keyring message and no start", m.NextStep, m.StartEnabled)
	}
	snap.Keyring = state.Keyring{State: state.KeyringOK}
	if m := StatusModelFor(judged(snap), time.UTC); strings.Contains(m.Detail+m.NextStep, "Passwortspeicher") {
		t.Errorf("with a usable keyring: Detail = %q, NextStep = %q", m.Detail, m.NextStep)
	}
}

// Without a profile the window says what is missing and whom to ask,
// and offers no home office.
func TestStatusModelWithoutProfile(t *testing.T) {
	m := StatusModelFor(judged(state.Snapshot{Session: state.NotConnected, TrayVisible: true, ProfileMissing: "/etc/dienstweg/profile.json"}), time.UTC)
	if m.StateLine != "Dienstweg ist noch nicht eingerichtet" {
		t.Errorf("StateLine = %q", m.StateLine)
	}
	if !strings.Contains(m.Detail, "/etc/dienstweg/profile.json") || !strings.Contains(m.NextStep, "IT-Service") {
		t.Errorf("Detail = %q, NextStep = %q; want the path and the IT service", m.Detail, m.NextStep)
	}
	if m.ShowStart || m.ShowEnd {
		t.Errorf("ShowStart/ShowEnd = %v/%v without a profile", m.ShowStart, m.ShowEnd)
	}
}

func TestStatusWindowRenders(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	c := &recordingClient{}
	w := NewStatusWindow(a, c)
	w.async = inline
	w.Window.Resize(fyne.NewSize(560, 600))

	w.Apply(judged(state.Snapshot{Organisation: "Stadt Musterstadt", Version: "1.2.3", Session: state.NotConnected, Since: since, Demo: true, TrayVisible: true}))
	test.AssertRendersToMarkup(t, "status_not_connected.xml", w.Window.Canvas())
	if !w.start.Visible() || w.end.Visible() {
		t.Fatal("not connected must offer Start, not End")
	}
	test.Tap(w.start)
	if _, opened, _ := c.snapshot(); len(opened) != 1 || opened[0] != localapi.WindowCode {
		t.Errorf("Start opened %v, want the code prompt", opened)
	}

	w.Apply(judged(state.Snapshot{Organisation: "Stadt Musterstadt", Version: "1.2.3", Session: state.Connected, Since: since}))
	test.AssertRendersToMarkup(t, "status_connected_no_tray.xml", w.Window.Canvas())
	if w.start.Visible() || !w.end.Visible() {
		t.Fatal("connected must offer End, not Start")
	}
	test.Tap(w.end)
	if _, _, ended := c.snapshot(); ended != 1 {
		t.Errorf("End ended %d sessions, want 1", ended)
	}
}

// Before the day's authorisation ends the status window says when and
// offers "Homeoffice verlängern", which opens the code prompt; after it
// ended it says "Sitzung abgelaufen" and offers a start with a new code.
func TestStatusWindowEndOfDay(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	c := &recordingClient{}
	w := NewStatusWindow(a, c)
	w.async = inline
	w.Window.Resize(fyne.NewSize(560, 600))
	end := time.Date(2026, 11, 30, 20, 0, 0, 0, time.Local)

	w.Apply(judged(state.Snapshot{Organisation: "Stadt Musterstadt", Version: "1.2.3", Session: state.Connected, Since: since, TrayVisible: true,
		Authorisation: state.Authorisation{Until: end, EndsSoon: true}}))
	test.AssertRendersToMarkup(t, "status_ends_soon.xml", w.Window.Canvas())
	if w.stateLine.Text != "Verbunden – endet um 20:00 Uhr" || !w.extend.Visible() || !w.end.Visible() || w.start.Visible() {
		t.Fatalf("ending soon: %q, extend %v end %v start %v", w.stateLine.Text, w.extend.Visible(), w.end.Visible(), w.start.Visible())
	}
	test.Tap(w.extend)
	if _, opened, _ := c.snapshot(); len(opened) != 1 || opened[0] != localapi.WindowCode {
		t.Errorf("Verlängern opened %v, want the code prompt", opened)
	}

	w.Apply(judged(state.Snapshot{Organisation: "Stadt Musterstadt", Version: "1.2.3", Session: state.CodeNeeded, Since: since, TrayVisible: true,
		Authorisation: state.Authorisation{Until: end, Expired: true}}))
	if w.stateLine.Text != "Sitzung abgelaufen" || w.extend.Visible() || w.end.Visible() || !w.start.Visible() {
		t.Fatalf("expired: %q, extend %v end %v start %v", w.stateLine.Text, w.extend.Visible(), w.end.Visible(), w.start.Visible())
	}
}

func TestCodeWindow(t *testing.T) {
	a := test.NewTempApp(t)
	c := &recordingClient{}
	w := NewCodeWindow(a, c)
	w.async = inline

	// Wrong format is caught locally and never reaches the agent.
	test.Type(w.entry, "12a4")
	w.Submit()
	if !w.errLabel.Visible() || w.errLabel.Text != "Der Code hat genau 6 Ziffern." {
		t.Errorf("error label = %q (visible %v)", w.errLabel.Text, w.errLabel.Visible())
	}
	if codes, _, _ := c.snapshot(); len(codes) != 0 {
		t.Fatalf("a malformed code reached the agent: %v", codes)
	}

	// The agent's refusal is shown in the employee's words.
	c.startErr = &localapi.Error{Status: 422, Code: "bad_code_format", Key: "code.format", Message: "x"}
	w.entry.SetText("")
	test.Type(w.entry, "123 456")
	w.Submit()
	if codes, _, _ := c.snapshot(); len(codes) != 1 || codes[0] != "123456" {
		t.Errorf("sent %q, want one code with spaces removed", codes)
	}
	if !w.errLabel.Visible() || w.errLabel.Text != "Der Code hat genau 6 Ziffern." {
		t.Errorf("refusal shown as %q (visible %v)", w.errLabel.Text, w.errLabel.Visible())
	}
	test.AssertRendersToMarkup(t, "code_refused.xml", w.Window.Canvas())
}

func TestEveryWindowBuilds(t *testing.T) {
	a := test.NewTempApp(t)
	for _, name := range localapi.Windows() {
		w, live, err := Build(a, &recordingClient{}, name)
		if err != nil {
			t.Fatalf("Build(%s): %v", name, err)
		}
		live.Apply(state.Snapshot{})
		if w.Title() == "" {
			t.Errorf("window %s has no title", name)
		}
		// Every window names its screen for the helpdesk.
		found := false
		walk(w.Content(), func(o fyne.CanvasObject) {
			if l, ok := o.(*widget.Label); ok && len(l.Text) > 9 && l.Text[:9] == "Bildschir" {
				found = true
			}
		})
		if !found {
			t.Errorf("window %s shows no screen code", name)
		}
	}
	if _, _, err := Build(a, &recordingClient{}, "evil"); err == nil {
		t.Error("Build accepted an unknown window")
	}
}

func walk(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	f(o)
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			walk(c, f)
		}
	}
}

// A ready update during a session asks; "at the end of the session" is
// the highlighted answer, and choosing goes to the agent.
func TestStatusWindowAsksBeforeUpdating(t *testing.T) {
	a := test.NewTempApp(t)
	c := &recordingClient{}
	w := NewStatusWindow(a, c)
	w.Apply(judged(state.Snapshot{Session: state.Connected, Update: state.Update{State: "ready", Available: "0.2.0"}}))
	if !w.updateAsk.Visible() || !strings.Contains(w.updateText.Text, "0.2.0") {
		t.Fatalf("no question while connected with a ready update: %q", w.updateText.Text)
	}
	later := w.updateAsk.Objects[2].(*fyne.Container).Objects[0].(*keyButton)
	if later.Importance != widget.HighImportance || later.Text != "Beim Beenden des Homeoffice installieren" {
		t.Errorf("default answer = %q (importance %v)", later.Text, later.Importance)
	}
	test.Tap(later)
	if _, opened, _ := c.snapshot(); len(opened) != 1 || opened[0] != "update:session_end" {
		t.Errorf("choice sent = %v", opened)
	}
	w.Apply(judged(state.Snapshot{Session: state.NotConnected, Update: state.Update{State: "ready", Available: "0.2.0"}}))
	if w.updateAsk.Visible() {
		t.Error("asks although no session is up")
	}
}
