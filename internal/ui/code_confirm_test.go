package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/dienstweg/dienstweg/internal/state"
)

// After connecting, the prompt says so before it closes (issue 15): the
// old one closed at once, and only the small tray icon told of success.
func TestCodeWindowConfirmsBeforeClosing(t *testing.T) {
	a := test.NewTempApp(t)
	c := &recordingClient{}
	w := NewCodeWindow(a, c)
	w.async = inline
	var waited time.Duration
	var closeLater func()
	w.later = func(d time.Duration, f func()) { waited, closeLater = d, f }
	closed := false
	w.Window.SetOnClosed(func() { closed = true })

	test.Type(w.entry, "123456")
	w.Submit()
	if !w.done.Visible() || w.done.Text != "Verbunden – Sie können jetzt arbeiten." {
		t.Errorf("confirmation = %q (visible %v)", w.done.Text, w.done.Visible())
	}
	if closed || closeLater == nil || waited < time.Second {
		t.Fatalf("closed at once = %v, close after %v; want the confirmation read first", closed, waited)
	}
	if !w.submit.Disabled() || !w.entry.Disabled() {
		t.Error("the prompt still takes a code after connecting")
	}
	closeLater()
	if !closed {
		t.Error("the prompt did not close after the confirmation")
	}
}

// Opened while a session runs ("Verlängern"), the prompt's code extends
// it, and the confirmation says the connection stays.
func TestCodeWindowConfirmsExtension(t *testing.T) {
	a := test.NewTempApp(t)
	c := &recordingClient{}
	w := NewCodeWindow(a, c)
	w.async = inline
	w.later = func(time.Duration, func()) {}
	w.Apply(state.Snapshot{Session: state.Connected})
	test.Type(w.entry, "123456")
	w.Submit()
	if w.done.Text != "Verlängert – die Verbindung bleibt bestehen." {
		t.Errorf("confirmation = %q", w.done.Text)
	}
}
