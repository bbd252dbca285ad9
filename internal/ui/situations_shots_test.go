package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The states this file shows are served by a real local API server over
// its socket, backed by fakeAgent: the windows read them through the
// real client, as dienstweg-ui does. Every run asserts what the window
// shows; with DIENSTWEG_SCREENSHOTS=DIR the same state is also shown by
// ui.Run in a real window (GLFW on the test display) and grabbed into
// DIR, in German and English.

// fakeAgent is the agent's side of the local API for these windows.
type fakeAgent struct {
	mu      sync.Mutex
	snap    state.Snapshot
	subs    []chan state.Snapshot
	reports int
	// renewTo: SendReport answers as the agent does when the portal
	// said the support code belongs to another device.
	renewTo string
}

func newFakeAgent(s state.Snapshot) *fakeAgent {
	situation.Derive(&s)
	return &fakeAgent{snap: s}
}

func (f *fakeAgent) Snapshot() state.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeAgent) Subscribe() (<-chan state.Snapshot, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan state.Snapshot, 1)
	ch <- f.snap
	f.subs = append(f.subs, ch)
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, c := range f.subs {
			if c == ch {
				f.subs = append(f.subs[:i], f.subs[i+1:]...)
			}
		}
	}
}

// publish keeps only the newest snapshot in each channel, as the store.
func (f *fakeAgent) publish(s state.Snapshot) {
	situation.Derive(&s)
	f.snap = s
	for _, ch := range f.subs {
		select {
		case <-ch:
		default:
		}
		ch <- s
	}
}

func (f *fakeAgent) OpenWindow(string) error { return nil }

func (f *fakeAgent) ClaimWindow(string) (<-chan string, func(), error) {
	return make(chan string), func() {}, nil
}

func (f *fakeAgent) Diagnostics(context.Context, io.Writer) error { return nil }
func (f *fakeAgent) SetSafeMode(context.Context, bool) error      { return nil }

func (f *fakeAgent) SendReport(context.Context) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports++
	if f.renewTo == "" {
		return time.Date(2026, 11, 23, 9, 41, 0, 0, time.UTC), nil
	}
	// As internal/agent/report.go: the new code is in the snapshot and
	// in the answer.
	s := f.snap
	s.SupportCode = f.renewTo
	f.publish(s)
	return time.Time{}, problem.New(problem.Conflict, "support.report.code_renewed", errors.New("portal: support code taken"), "Code", f.renewTo)
}

func (f *fakeAgent) reportCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reports
}

// serveFakeAgent serves f on a socket in a temp dir and returns its path.
func serveFakeAgent(t *testing.T, f *fakeAgent) string {
	t.Helper()
	// A short path: a unix socket's path has a limit of about 100 bytes.
	dir, err := os.MkdirTemp("", "dw-ui")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	srv := localapi.NewServer(localapi.Backend{State: f, Windows: f, Support: f},
		localapi.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.Listen(sock); err != nil {
		t.Fatalf("listening on %s: %v", sock, err)
	}
	t.Cleanup(func() { srv.Close() })
	return sock
}

// showServed builds window name in a test app, fed the first snapshot
// the real client receives from sock, as Run does.
func showServed(t *testing.T, sock, name string) (fyne.Window, liveWindow) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	c := localapi.NewClient(sock)
	win, live, err := Build(a, c, name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	events, err := c.Watch(ctx, name)
	if err != nil {
		t.Fatalf("watching %s: %v", name, err)
	}
	for ev := range events {
		if ev.Type == localapi.EventState && ev.State != nil {
			live.Apply(*ev.State)
			return win, live
		}
	}
	t.Fatalf("no state for %s: %v", name, ctx.Err())
	return nil, nil
}

var shotEnrolled = state.Enrollment{Enrolled: true, Step: "done", User: "anna.schmidt"}

func shotBase() state.Snapshot {
	return state.Snapshot{
		Organisation: "Stadt Musterstadt", Version: "0.9.0", SupportCode: "DW-7K3F-Q9", DeviceName: "nb-0815",
		Enrollment: shotEnrolled, TrayVisible: true,
		Helpdesk: state.Helpdesk{Phone: "05221 123-4567", Hours: "Mo–Fr 7:30–16:00"},
	}
}

// outsideHoursSnapshot: 18:30 on a Monday, working hours Mo–Fr 7–18,
// and IT's policy lets no start happen outside them.
func outsideHoursSnapshot() state.Snapshot {
	s := shotBase()
	s.Session = state.NotConnected
	s.Hours = state.Hours{Asked: true, Outside: true, Weekdays: []string{"mo", "di", "mi", "do", "fr"}, From: "07:00", Until: "18:00",
		NextStart: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)}
	s.Settings = state.Settings{ManagedBy: "Stadt Musterstadt", List: []state.Setting{{Key: policy.KeyStartOutsideHours, Value: false, Source: "policy", Locked: true}}}
	return s
}

// failedStartSnapshot: the start failed, nothing runs.
func failedStartSnapshot() state.Snapshot {
	s := shotBase()
	s.Session = state.Problem
	s.Running = false
	s.Since = time.Date(2026, 11, 23, 8, 12, 0, 0, time.UTC)
	s.Detail = &state.Message{Key: "session.tunnel_failed"}
	return s
}

func TestStatusWindowOutsideHoursServed(t *testing.T) {
	f := newFakeAgent(outsideHoursSnapshot())
	if got := f.Snapshot().Verdict.Situation; got != situation.OutsideHours {
		t.Fatalf("situation %q, want %q", got, situation.OutsideHours)
	}
	sock := serveFakeAgent(t, f)
	_, live := showServed(t, sock, localapi.WindowStatus)
	w := live.(*StatusWindow)
	if w.stateLine.Text != "Außerhalb Ihrer Arbeitszeit" {
		t.Errorf("headline %q", w.stateLine.Text)
	}
	for _, part := range []string{"Mo–Fr 07:00–18:00 Uhr", "am Dienstag, 24.11.2026 ab 07:00 Uhr wieder möglich"} {
		if !strings.Contains(w.next.Text, part) {
			t.Errorf("advice %q lacks %q", w.next.Text, part)
		}
	}
	if !w.start.Visible() || !w.start.Disabled() {
		t.Errorf("Homeoffice starten: shown %v, disabled %v; want shown and greyed out", w.start.Visible(), w.start.Disabled())
	}
	if w.end.Visible() || w.extend.Visible() {
		t.Errorf("end %v, extend %v shown outside the working hours", w.end.Visible(), w.extend.Visible())
	}
	realWindowShots(t, sock, localapi.WindowStatus, "status-outside-hours", nil)
}

func TestStatusWindowFailedStartServed(t *testing.T) {
	f := newFakeAgent(failedStartSnapshot())
	sock := serveFakeAgent(t, f)
	_, live := showServed(t, sock, localapi.WindowStatus)
	w := live.(*StatusWindow)
	if !w.start.Visible() || w.start.Disabled() || w.start.Text != "Homeoffice starten" {
		t.Errorf("start %q shown %v disabled %v; want „Homeoffice starten“ offered", w.start.Text, w.start.Visible(), w.start.Disabled())
	}
	if w.end.Visible() {
		t.Errorf("„%s“ offered after a failed start, with nothing running", w.end.Text)
	}
	if !strings.Contains(w.detail.Text, "sichere Verbindung konnte") || !strings.Contains(w.next.Text, "noch einmal zu versuchen") {
		t.Errorf("detail %q, next %q: want why and what now", w.detail.Text, w.next.Text)
	}
	realWindowShots(t, sock, localapi.WindowStatus, "status-failed-start", nil)
}

func TestSupportWindowCodeRenewedServed(t *testing.T) {
	const newCode = "DW-M4PX-27"
	f := newFakeAgent(shotBase())
	f.renewTo = newCode
	sock := serveFakeAgent(t, f)
	win, live := showServed(t, sock, localapi.WindowSupport)
	w := live.(*SupportWindow)
	w.async = inline
	test.Tap(w.send)
	if f.reportCount() != 1 {
		t.Fatalf("reports %d, want 1", f.reportCount())
	}
	for _, part := range []string{"Nicht gesendet", "anderen Gerät", newCode, "noch einmal"} {
		if !strings.Contains(w.status.Text, part) {
			t.Errorf("status %q lacks %q", w.status.Text, part)
		}
	}
	if !w.status.Visible() || w.send.Disabled() {
		t.Errorf("status shown %v, send disabled %v: want the answer in view and the button ready again", w.status.Visible(), w.send.Disabled())
	}
	// The status line is in view at the window's size, not cut off.
	win.Resize(SupportSize)
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(w.status)
	if end := pos.Y + w.status.Size().Height; end > win.Canvas().Size().Height {
		t.Errorf("status line ends at y %.0f, below the window (%v)", end, win.Canvas().Size())
	}
	// The real window presses the button itself: Tab to it, Space.
	realWindowShots(t, sock, localapi.WindowSupport, "support-code-renewed", func(r *realWindow) {
		before := f.reportCount()
		r.xdotool("key", "--delay", "150", "Tab", "space")
		for i := 0; i < 100 && f.reportCount() == before; i++ {
			time.Sleep(100 * time.Millisecond) // polls the fake; no ordering depends on it
		}
		if f.reportCount() == before {
			r.tb.Fatal("Tab and Space in the real window sent no report")
		}
	})
}

// realWindowShots shows window name through ui.Run against sock in a
// child process, for each language, and writes DIR/base-LANG.png once
// the picture stops changing. Only with DIENSTWEG_SCREENSHOTS=DIR.
func realWindowShots(t *testing.T, sock, name, base string, act func(*realWindow)) {
	t.Helper()
	dir := os.Getenv("DIENSTWEG_SCREENSHOTS")
	if dir == "" {
		return
	}
	needRealDisplay(t)
	if _, err := exec.LookPath("import"); err != nil {
		t.Fatal("import not found (Debian package imagemagick)")
	}
	for _, lang := range []string{"de", "en"} {
		title := map[string]string{"de": "Dienstweg – ", "en": "Dienstweg – "}[lang] + windowTitle(name, lang)
		r := showRunWindow(t, title, name, lang, sock)
		if act != nil {
			act(r)
		}
		img := r.stableGrab()
		out := filepath.Join(dir, base+"-"+lang+".png")
		if err := os.WriteFile(out, img, 0o644); err != nil {
			t.Fatal(err)
		}
		width, height := r.size()
		t.Logf("wrote %s (%d×%d px)", out, width, height)
		r.xdotool("key", "Escape")
		r.waitClosed()
	}
}

// windowTitle is the window's title in lang without the product name.
func windowTitle(name, lang string) string {
	titles := map[string][2]string{
		localapi.WindowStatus:  {"Status", "Status"},
		localapi.WindowSupport: {"Hilfe & Support", "Help & support"},
	}
	if lang == "de" {
		return titles[name][0]
	}
	return titles[name][1]
}

// showRunWindow starts the test binary as dienstweg-ui: ui.Run with the
// real local API client on sock.
func showRunWindow(tb testing.TB, title, name, lang, sock string) *realWindow {
	return startRealWindow(tb, title, []string{realWindowEnv + "=run " + name + " " + lang + " " + sock, "FYNE_SCALE=1"})
}

// stableGrab grabs the window until two grabs in a row are the same:
// the window has drawn the state it received.
func (r *realWindow) stableGrab() []byte {
	r.tb.Helper()
	var last []byte
	for i := 0; i < 50; i++ {
		time.Sleep(300 * time.Millisecond) // a screenshot's settling time; no test result depends on it
		out, err := exec.Command("import", "-window", r.id, "png:-").Output()
		if err != nil {
			r.tb.Fatalf("import: %v", err)
		}
		if last != nil && bytes.Equal(out, last) {
			if _, err := png.Decode(bytes.NewReader(out)); err != nil {
				r.tb.Fatalf("grab is no PNG: %v", err)
			}
			return out
		}
		last = out
	}
	r.tb.Fatal("the window kept changing for 15 s")
	return nil
}

// runWindowFromEnv is runRealWindow's "run WINDOW LANG SOCKET" form.
func runWindowFromEnv(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 4 {
		fmt.Fprintf(os.Stderr, "want run WINDOW LANG SOCKET, got %q\n", spec)
		return 2
	}
	goAsync = func(g func()) { go g() }
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := Run(f[1], localapi.NewClient(f[3]), f[2], log); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("closed")
	return 0
}
