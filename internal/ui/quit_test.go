package ui

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// The question is answered with the keyboard alone: the focus starts on
// "Abbrechen", so Enter or Escape keeps the session; Tab then Enter
// quits.
func TestQuitWindowKeyboard(t *testing.T) {
	a := test.NewTempApp(t)
	press := func(w *QuitWindow, keys ...fyne.KeyName) {
		t.Helper()
		for _, k := range keys {
			if k == fyne.KeyTab {
				w.Window.Canvas().FocusNext()
				continue
			}
			f := w.Window.Canvas().Focused()
			if f == nil {
				t.Fatalf("nothing has the focus before %s", k)
			}
			f.TypedKey(&fyne.KeyEvent{Name: k})
		}
	}
	for _, tc := range []struct {
		name  string
		keys  []fyne.KeyName
		quits bool
	}{
		{"enter_cancels", []fyne.KeyName{fyne.KeyReturn}, false},
		{"escape_cancels", []fyne.KeyName{fyne.KeyEscape}, false},
		{"tab_enter_quits", []fyne.KeyName{fyne.KeyTab, fyne.KeyReturn}, true},
		{"tab_space_quits", []fyne.KeyName{fyne.KeyTab, fyne.KeySpace}, true},
		{"tab_escape_cancels", []fyne.KeyName{fyne.KeyTab, fyne.KeyEscape}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &recordingClient{}
			w := NewQuitWindow(a, c)
			w.async = inline
			w.Window.Show()
			if w.Window.Canvas().Focused() != w.cancel {
				t.Fatalf("focus starts on %T, want the cancel button", w.Window.Canvas().Focused())
			}
			press(w, tc.keys...)
			_, opened, _ := c.snapshot()
			if got := slices.Contains(opened, "quit"); got != tc.quits {
				t.Errorf("quit called = %v, want %v", got, tc.quits)
			}
			// Every answer closes the question.
			if !w.closed {
				t.Error("window still open after the answer")
			}
		})
	}
}
