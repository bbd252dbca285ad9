package ui

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

func supportSnapshot() state.Snapshot {
	off := 2.0
	return judged(state.Snapshot{
		SupportCode: "DW-7K3F-Q9", Version: "0.1.0", DeviceName: "nb-0815", Organisation: "Stadt Musterstadt",
		Session:    state.NotConnected,
		Enrollment: state.Enrollment{User: "anna.schmidt"},
		Health:     state.Health{ClockOffset: &off},
		Helpdesk:   state.Helpdesk{Phone: "05221 123-4567", Hours: "Mo–Fr 7:30–16:00"},
	})
}

func TestSupportWindowCopiesWhatItShows(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	w := NewSupportWindow(a, &recordingClient{})
	w.async = inline
	var restore func()
	w.later = func(_ time.Duration, f func()) { restore = f }
	w.Window.Resize(fyne.NewSize(620, 620))
	w.Apply(supportSnapshot())
	test.AssertRendersToMarkup(t, "support.xml", w.Window.Canvas())

	w.Copy()
	// The button itself says so for a moment, then is "Kopieren" again.
	if w.copyBtn.Text != "Kopiert" || restore == nil {
		t.Errorf("copy button = %q right after copying, want Kopiert", w.copyBtn.Text)
	} else if restore(); w.copyBtn.Text != "Kopieren" {
		t.Errorf("copy button = %q later, want Kopieren", w.copyBtn.Text)
	}
	got := a.Clipboard().Content()
	for _, want := range []string{"Support-Code: DW-7K3F-Q9", "Computer: nb-0815", "Benutzer: anna.schmidt", "Uhr: stimmt", "IT-Service: 05221 123-4567"} {
		if !strings.Contains(got, want) {
			t.Errorf("clipboard lacks %q:\n%s", want, got)
		}
	}
	if !w.status.Visible() || w.status.Text != "In die Zwischenablage kopiert." {
		t.Errorf("no confirmation after copy: %q", w.status.Text)
	}
}

func TestSupportWindowSavesReport(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_DESKTOP_DIR", "")
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	c := &recordingClient{}
	w := NewSupportWindow(a, c)
	w.async = inline
	w.now = func() time.Time { return time.Date(2026, 11, 23, 8, 12, 5, 0, time.UTC) }
	w.Apply(supportSnapshot())

	w.SaveReport()
	path := filepath.Join(home, "dienstweg-bericht-2026-11-23-081205.zip")
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(data), "PK") {
		t.Fatalf("report not saved at %s: %v %q", path, err, data)
	}
	if !strings.Contains(w.status.Text, path) {
		t.Errorf("status does not name the file: %q", w.status.Text)
	}
	// Like `dienstweg diag`'s: the bundle names the person and the device.
	if st, err := os.Stat(path); err != nil {
		t.Errorf("stat report: %v", err)
	} else if st.Mode().Perm() != 0o600 {
		t.Errorf("report mode = %v, want 0600", st.Mode().Perm())
	}

	// A failure says so and leaves no file behind.
	c.diagErr = errors.New("agent gone")
	w.now = func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }
	w.SaveReport()
	if !strings.Contains(w.status.Text, "nicht gespeichert") || !strings.Contains(w.status.Text, "agent gone") {
		t.Errorf("failure not shown: %q", w.status.Text)
	}
	entries, _ := os.ReadDir(home)
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) != 1 {
		t.Errorf("files in home after a failed save: %v", names)
	}
}

// "An den IT-Service senden" sends only when pressed, with Enter as with
// a click, and says when the report arrived or, in the agent's words,
// why not and what to do instead.
func TestSupportWindowSendsReport(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	c := &recordingClient{}
	w := NewSupportWindow(a, c)
	w.async = inline
	w.Apply(supportSnapshot())
	if c.reports != 0 {
		t.Fatalf("the window sent %d reports before the button was pressed", c.reports)
	}
	w.Window.Canvas().Focus(w.send)
	w.send.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if c.reports != 1 {
		t.Fatalf("Enter on the button sent %d reports, want 1", c.reports)
	}
	if want := "Um 09:41 Uhr an den IT-Service gesendet."; !strings.HasPrefix(w.status.Text, want) || w.send.Disabled() {
		t.Errorf("after sending: status %q (want it to start %q), button disabled %v", w.status.Text, want, w.send.Disabled())
	}

	c.reportErr = &localapi.Error{Status: 503, Code: "report_portal_down", Key: "support.report.portal_down", Message: "portal down"}
	test.Tap(w.send)
	if !strings.Contains(w.status.Text, "Das Portal antwortet gerade nicht") || !strings.Contains(w.status.Text, "Support-Code vor") {
		t.Errorf("portal down: status %q", w.status.Text)
	}
	if w.send.Disabled() {
		t.Errorf("the button stays disabled after a failure; the employee could not try again")
	}
}
