package ui

import (
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dienstweg/dienstweg/internal/state"
)

// fits 1366×768 at 125 %: 614 px of height less a panel (38) and a title
// bar (37).
const smallScreenHeight = 539

// The support code, the helpdesk's phone number and the result of the
// last action are seen without scrolling, at the window's default size
// and on a small laptop screen at 125 % (issue 15, #7). Tested by where
// they are drawn: inside the window, and above the scrolled details.
func TestSupportWindowKeepsTheEssentialsInView(t *testing.T) {
	if SupportSize.Height > smallScreenHeight {
		t.Errorf("default size %v is taller than a 1366×768 screen at 125 %% leaves (%d)", SupportSize, smallScreenHeight)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_DESKTOP_DIR", "")
	for _, size := range []fyne.Size{SupportSize, fyne.NewSize(480, 440)} {
		a := test.NewTempApp(t)
		a.Settings().SetTheme(newTheme())
		w := NewSupportWindow(a, &recordingClient{})
		w.async = inline
		w.now = func() time.Time { return time.Date(2026, 11, 23, 8, 12, 5, 0, time.UTC) }
		w.Window.Resize(size)
		snap := supportSnapshot()
		// Five errors: the list that pushed the phone number out of view.
		for i := range 5 {
			snap.RecentErrors = append(snap.RecentErrors, state.ErrorEntry{Time: time.Date(2026, 11, 23, 8, i, 0, 0, time.UTC),
				Message: state.Message{Key: "session.gateway_unreachable"}})
		}
		w.Apply(snap)
		w.SaveReport()

		canvas := w.Window.Canvas().Size()
		for name, label := range map[string]fyne.CanvasObject{"support code": w.code, "phone": w.helpdesk, "result": w.status} {
			pos := a.Driver().AbsolutePositionForObject(label)
			end := pos.Y + label.Size().Height
			if !label.Visible() || pos.Y < 0 || end > canvas.Height || label.Size().Height == 0 {
				t.Errorf("%v: %s at y %.0f–%.0f (visible %v), window %v", size, name, pos.Y, end, label.Visible(), canvas)
			}
		}
		if got := w.helpdesk.Text; got != "IT-Service: 05221 123-4567  Mo–Fr 7:30–16:00" {
			t.Errorf("phone line = %q", got)
		}
	}
}
