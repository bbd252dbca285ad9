package ui

import (
	"image/png"
	"os"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The status window offers "Arbeitsplatz öffnen" while the session is up
// and the desktop answers (issue 20); a press asks the agent and the
// window says which program opens it.
func TestStatusWindowOpensTheDesktop(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	c := &recordingClient{}
	w := NewStatusWindow(a, c)
	w.async = inline
	w.Window.Resize(fyne.NewSize(560, 640))
	snap := func(answers bool) state.Snapshot {
		return judged(state.Snapshot{Organisation: "Stadt Musterstadt", Version: "1.2.3", Session: state.Connected, Since: since, TrayVisible: true,
			Health: state.Health{Links: []state.Link{
				{Code: health.Gateway, OK: true, Detail: state.Message{Key: health.KeyHandshake, Args: map[string]string{"Seconds": "3"}}},
				{Code: health.OfficeDesktop, Target: "Arbeitsplatz Bürgerbüro", OK: answers, Latency: 42,
					Detail: state.Message{Key: health.KeyLatency, Args: map[string]string{"Milliseconds": "42"}}},
			}}})
	}
	w.Apply(snap(false))
	if w.desktops.box.Visible() {
		t.Fatal("offers the desktop although it does not answer")
	}
	w.Apply(snap(true))
	if !w.desktops.box.Visible() || len(w.desktops.btns.Objects) != 1 {
		t.Fatalf("desktop row visible %v with %d buttons, want one", w.desktops.box.Visible(), len(w.desktops.btns.Objects))
	}
	b := w.desktops.btns.Objects[0].(*keyButton)
	if b.Text != "Arbeitsplatz öffnen" {
		t.Errorf("button = %q", b.Text)
	}
	test.Tap(b)
	if _, opened, _ := c.snapshot(); len(opened) != 1 || opened[0] != "desktop:Arbeitsplatz Bürgerbüro" {
		t.Errorf("opened %v", opened)
	}
	w.Window.Resize(fyne.NewSize(560, 641)) // a real window lays out on its next frame
	test.AssertRendersToMarkup(t, "status_desktop.xml", w.Window.Canvas())
	if p := os.Getenv("DIENSTWEG_TEST_CAPTURE"); p != "" {
		capturePNG(t, w.Window.Canvas(), p)
	}
	// The same state again keeps the button (and a focus on it).
	w.Apply(snap(true))
	if w.desktops.btns.Objects[0] != b {
		t.Error("button rebuilt although the desktops did not change")
	}
}

func capturePNG(t *testing.T, c fyne.Canvas, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, c.Capture()); err != nil {
		t.Fatal(err)
	}
}
