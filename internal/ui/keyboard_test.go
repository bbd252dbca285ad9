package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// keyboard drives a window with keys only, routed as Fyne's desktop
// driver routes them (internal/driver/glfw, window.processKeyPressed):
// Tab moves the focus unless the focused widget takes tabs, every other
// key goes to the focused widget, or to the window when nothing has focus.
// The real driver is exercised end to end in keyboard_realwindow_test.go.
type keyboard struct {
	tb testing.TB
	w  fyne.Window
}

func (k keyboard) press(names ...fyne.KeyName) {
	k.tb.Helper()
	c := k.w.Canvas()
	for _, name := range names {
		if name == fyne.KeyTab {
			if t, ok := c.Focused().(fyne.Tabbable); !ok || !t.AcceptsTab() {
				c.FocusNext()
				continue
			}
		}
		ev := &fyne.KeyEvent{Name: name}
		if f := c.Focused(); f != nil {
			f.TypedKey(ev)
		} else if h := c.OnTypedKey(); h != nil {
			h(ev)
		}
	}
}

func (k keyboard) typeText(s string) {
	c := k.w.Canvas()
	for _, r := range s {
		if f := c.Focused(); f != nil {
			f.TypedRune(r)
		} else if h := c.OnTypedRune(); h != nil {
			h(r)
		}
	}
}

// tabTo presses Tab until target has the focus, failing after a full round.
func (k keyboard) tabTo(target fyne.Focusable) {
	k.tb.Helper()
	for i := 0; i < 50; i++ {
		if k.w.Canvas().Focused() == target {
			return
		}
		k.press(fyne.KeyTab)
	}
	k.tb.Fatalf("Tab never reaches %s", describe(target))
}

// closedFlag reports whether w was closed.
func closedFlag(w fyne.Window) *bool {
	closed := new(bool)
	w.SetOnClosed(func() { *closed = true })
	return closed
}

func describe(o any) string {
	switch v := o.(type) {
	case *keyButton:
		return fmt.Sprintf("button %q", v.Text)
	case *keyEntry:
		return fmt.Sprintf("entry %q", v.PlaceHolder)
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", o)
}

func TestKeyboardCodePrompt(t *testing.T) {
	t.Run("enter_submits_the_focused_field", func(t *testing.T) {
		a := test.NewTempApp(t)
		c := &recordingClient{}
		w := NewCodeWindow(a, c)
		w.later = func(_ time.Duration, f func()) { f() } // the confirmation's pause
		closed := closedFlag(w.Window)
		k := keyboard{t, w.Window}
		if got := w.Window.Canvas().Focused(); got != w.entry {
			t.Fatalf("focus at start on %s, want the code field", describe(got))
		}
		k.typeText("12")
		k.press(fyne.KeyReturn)
		if !w.errLabel.Visible() || *closed {
			t.Fatalf("a short code: error shown %v, closed %v", w.errLabel.Visible(), *closed)
		}
		k.typeText("3456")
		k.press(fyne.KeyReturn)
		if codes, _, _ := c.snapshot(); len(codes) != 1 || codes[0] != "123456" {
			t.Fatalf("sent %v, want [123456]", codes)
		}
		if !*closed {
			t.Error("the prompt stays open after a good code")
		}
	})
	t.Run("escape_cancels_from_the_field", func(t *testing.T) {
		a := test.NewTempApp(t)
		c := &recordingClient{}
		w := NewCodeWindow(a, c)
		w.later = func(_ time.Duration, f func()) { f() } // the confirmation's pause
		closed := closedFlag(w.Window)
		keyboard{t, w.Window}.typeText("123")
		keyboard{t, w.Window}.press(fyne.KeyEscape)
		if codes, _, _ := c.snapshot(); !*closed || len(codes) != 0 {
			t.Errorf("Escape: closed %v, codes sent %v", *closed, codes)
		}
	})
	t.Run("tab_reaches_the_buttons_and_enter_presses_them", func(t *testing.T) {
		a := test.NewTempApp(t)
		c := &recordingClient{}
		w := NewCodeWindow(a, c)
		w.later = func(_ time.Duration, f func()) { f() } // the confirmation's pause
		closed := closedFlag(w.Window)
		k := keyboard{t, w.Window}
		k.typeText("654321")
		k.tabTo(w.submit)
		k.press(fyne.KeyReturn)
		if codes, _, _ := c.snapshot(); len(codes) != 1 || codes[0] != "654321" || !*closed {
			t.Errorf("Enter on %q: sent %v, closed %v", w.submit.Text, codes, *closed)
		}
	})
	t.Run("escape_cancels_from_a_button", func(t *testing.T) {
		a := test.NewTempApp(t)
		w := NewCodeWindow(a, &recordingClient{})
		closed := closedFlag(w.Window)
		k := keyboard{t, w.Window}
		k.tabTo(w.submit)
		k.press(fyne.KeyEscape)
		if !*closed {
			t.Error("Escape on a button left the prompt open")
		}
	})
}

func TestKeyboardSupport(t *testing.T) {
	a := test.NewTempApp(t)
	w := NewSupportWindow(a, &recordingClient{})
	w.async = inline
	// "✓ Kopiert" turns back at once: a real timer would outlive the test
	// and touch the window beside the next one (the test driver runs
	// fyne.Do on the timer's goroutine).
	w.later = func(_ time.Duration, f func()) { f() }
	w.Apply(supportSnapshot())
	closed := closedFlag(w.Window)
	k := keyboard{t, w.Window}
	copyBtn := buttonByText(t, w.Window, "Kopieren")
	k.tabTo(copyBtn)
	k.press(fyne.KeyReturn)
	if got := a.Clipboard().Content(); !strings.Contains(got, "DW-7K3F-Q9") {
		t.Errorf("Enter on Kopieren copied %q", got)
	}
	k.press(fyne.KeyEscape)
	if !*closed {
		t.Error("Escape left the support window open")
	}
}

func TestKeyboardStatus(t *testing.T) {
	a := test.NewTempApp(t)
	c := &recordingClient{}
	w := NewStatusWindow(a, c)
	w.async = inline
	w.Apply(judged(state.Snapshot{Session: state.NotConnected, TrayVisible: true}))
	closed := closedFlag(w.Window)
	k := keyboard{t, w.Window}
	k.tabTo(w.start)
	k.press(fyne.KeyReturn)
	if _, opened, _ := c.snapshot(); len(opened) != 1 || opened[0] != localapi.WindowCode {
		t.Errorf("Enter on Start opened %v, want the code prompt", opened)
	}
	k.press(fyne.KeyEscape)
	if !*closed {
		t.Error("Escape left the status window open")
	}
}

func TestKeyboardAnnouncements(t *testing.T) {
	c := &announceClient{items: sampleItems()}
	w, _ := newAnnouncementsTestWindow(t, c)
	w.Apply(state.Snapshot{Language: "de", Announce: state.Announcements{Unread: 2, UnreadUrgent: true}})
	closed := closedFlag(w.Window)
	k := keyboard{t, w.Window}
	k.tabTo(w.list)
	k.press(fyne.KeyDown, fyne.KeyReturn)
	if w.current != "wartung-sa" || !w.detail.Visible() {
		t.Errorf("Down, Enter in the list shows %q (detail visible %v), want the second item", w.current, w.detail.Visible())
	}
	k.tabTo(w.markAll)
	k.press(fyne.KeyReturn)
	if _, marked := c.state(); len(marked) == 0 || !marked[len(marked)-1].All {
		t.Errorf("Enter on %q sent %+v", w.markAll.Text, marked)
	}
	k.tabTo(w.list)
	k.press(fyne.KeyEscape)
	if !*closed {
		t.Error("Escape in the list left the window open")
	}
}

// The whole setup, keys only: fields, Enter between them and to submit,
// Enter on a step without fields, Escape to leave.
func TestKeyboardWizard(t *testing.T) {
	w, c := newWizard(t)
	closed := closedFlag(w.Window)
	k := keyboard{t, w.Window}

	w.ApplyView(view(enroll.StepWelcome, 1, "enroll.welcome.title", "enroll.welcome.body"))
	k.press(fyne.KeyReturn) // E1: nothing to type, Enter is Next
	if len(c.actions) != 1 || c.actions[0].Action != localapi.EnrollNext {
		t.Fatalf("Enter on the welcome step sent %+v", c.actions)
	}

	signIn := view(enroll.StepSignIn, 2, "enroll.sign_in.title", "enroll.sign_in.body")
	signIn.Fields = []enroll.Field{enroll.FieldUser, enroll.FieldActivationCode}
	signIn.CanBack = true
	w.ApplyView(signIn)
	if got := w.Window.Canvas().Focused(); got != w.user {
		t.Fatalf("sign-in focus on %s, want the user name", describe(got))
	}
	k.typeText("anna.schmidt")
	k.press(fyne.KeyReturn)
	k.typeText("K7P2-QX9M")
	c.nextView = view(enroll.StepAuthenticator, 3, "enroll.authenticator.title", "enroll.authenticator.body")
	c.nextView.Authenticator = &enroll.Authenticator{Hidden: true, Issuer: "Stadt Musterstadt", Account: "anna.schmidt", Apps: enroll.Apps}
	c.nextView.CanBack = true
	k.press(fyne.KeyReturn)
	want := localapi.EnrollAction{Action: localapi.EnrollSignIn, User: "anna.schmidt", ActivationCode: "K7P2-QX9M"}
	if len(c.actions) != 2 || c.actions[1] != want {
		t.Fatalf("sign-in by keys sent %+v, want %+v", c.actions, want)
	}

	// E3 has no field: the sign-in fields, now hidden, must not keep the keys.
	if got := w.Window.Canvas().Focused(); got != nil {
		t.Fatalf("E3 starts with the focus on %s", describe(got))
	}
	c.nextView = view(enroll.StepConfirm, 4, "enroll.confirm.title", "enroll.confirm.body")
	c.nextView.Fields = []enroll.Field{enroll.FieldCode}
	k.press(fyne.KeyReturn)
	if len(c.actions) != 3 || c.actions[2].Action != localapi.EnrollNext {
		t.Fatalf("Enter on E3 sent %+v", c.actions[2:])
	}
	if got := w.Window.Canvas().Focused(); got != w.code {
		t.Fatalf("code step focus on %s, want the code field", describe(got))
	}
	k.typeText("123456")
	c.nextView = view(enroll.StepDone, 6, "enroll.done.title", "enroll.done.body")
	k.press(fyne.KeyReturn)
	if len(c.actions) != 4 || c.actions[3] != (localapi.EnrollAction{Action: localapi.EnrollCode, Code: "123456"}) {
		t.Fatalf("code by keys sent %+v", c.actions[3:])
	}
	k.press(fyne.KeyReturn) // "Fertig"
	if !*closed {
		t.Error("Enter on the last step left the wizard open")
	}
}

func TestKeyboardWizardEscapeLeaves(t *testing.T) {
	w, c := newWizard(t)
	closed := closedFlag(w.Window)
	v := view(enroll.StepSignIn, 2, "enroll.sign_in.title", "enroll.sign_in.body")
	v.Fields = []enroll.Field{enroll.FieldUser, enroll.FieldActivationCode}
	w.ApplyView(v)
	keyboard{t, w.Window}.press(fyne.KeyEscape)
	if !*closed || len(c.actions) != 0 {
		t.Errorf("Escape: closed %v, actions %+v", *closed, c.actions)
	}
}

// Tab reaches every control a window shows, and every button takes Enter
// and Escape: none is a plain Fyne button.
func TestKeyboardTabReachesEveryControl(t *testing.T) {
	c := &announceClient{items: sampleItems()}
	ann, _ := newAnnouncementsTestWindow(t, c)
	ann.Apply(state.Snapshot{Language: "de", Announce: state.Announcements{Unread: 2}})
	ann.list.Select(0)

	a := test.NewTempApp(t)
	status := NewStatusWindow(a, &recordingClient{})
	status.Apply(state.Snapshot{Session: state.Connected, TrayVisible: true, Settings: sampleSettings(false),
		Verdict: state.Verdict{End: true, Desktops: []string{"Arbeitsplatz Bürgerbüro", "Fachverfahren"}},
		Update:  state.Update{State: "ready", Available: "0.2.0"},
		Health: state.Health{Links: []state.Link{{Code: "captive_portal",
			Detail: state.Message{Key: "health.detail.captive", Args: map[string]string{"URL": "http://login.hotel.test/"}}}}}})
	support := NewSupportWindow(a, &recordingClient{})
	support.Apply(supportSnapshot())
	wiz, _ := newWizard(t)
	auth := view(enroll.StepAuthenticator, 3, "enroll.authenticator.title", "enroll.authenticator.body")
	auth.CanBack, auth.CanRestart = true, true
	auth.Authenticator = &enroll.Authenticator{Hidden: true, Issuer: "Stadt Musterstadt", Account: "anna.schmidt", Apps: enroll.Apps}
	wiz.ApplyView(auth)

	for name, w := range map[string]fyne.Window{
		"code": NewCodeWindow(a, &recordingClient{}).Window, "status": status.Window,
		"support": support.Window, "announcements": ann.Window, "wizard": wiz.Window,
	} {
		t.Run(name, func(t *testing.T) {
			want := focusables(w.Canvas().Content())
			if len(want) == 0 {
				t.Fatal("nothing to focus")
			}
			reached := map[fyne.Focusable]bool{}
			k := keyboard{t, w}
			for i := 0; i < 2*len(want)+2; i++ {
				k.press(fyne.KeyTab)
				if f := w.Canvas().Focused(); f != nil {
					reached[f] = true
				}
			}
			for _, f := range want {
				if !reached[f] {
					t.Errorf("Tab never reaches %s", describe(f))
				}
				if _, plain := f.(*keyButton); !plain && strings.HasSuffix(fmt.Sprintf("%T", f), "widget.Button") {
					t.Errorf("%s is a plain Fyne button: Enter and Escape do nothing on it", describe(f))
				}
			}
		})
	}
}

// focusables lists the visible, enabled widgets that can take the focus.
func focusables(o fyne.CanvasObject) []fyne.Focusable {
	var out []fyne.Focusable
	var visit func(fyne.CanvasObject)
	visit = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		if d, ok := o.(fyne.Disableable); ok && d.Disabled() {
			return
		}
		if f, ok := o.(fyne.Focusable); ok {
			out = append(out, f)
			return // an entry's or list's insides are its own business
		}
		for _, c := range children(o) {
			visit(c)
		}
	}
	visit(o)
	return out
}

// children are the objects o draws: a container's, or a widget renderer's.
func children(o fyne.CanvasObject) []fyne.CanvasObject {
	switch v := o.(type) {
	case *fyne.Container:
		return v.Objects
	case fyne.Widget:
		return test.WidgetRenderer(v).Objects()
	}
	return nil
}

func buttonByText(tb testing.TB, w fyne.Window, text string) *keyButton {
	tb.Helper()
	for _, f := range focusables(w.Canvas().Content()) {
		if b, ok := f.(*keyButton); ok && b.Text == text {
			return b
		}
	}
	tb.Fatalf("no button %q", text)
	return nil
}

// While a dialog is over the window, Escape and Enter are the dialog's:
// they neither close the window nor act behind the dialog.
func TestKeyboardStandsAsideForDialogs(t *testing.T) {
	w, c := newWizard(t)
	closed := closedFlag(w.Window)
	w.ApplyView(view(enroll.StepWelcome, 1, "enroll.welcome.title", "enroll.welcome.body"))
	dialog.ShowConfirm("Sicher?", "Wirklich?", func(bool) {}, w.Window)
	w.Window.Canvas().Unfocus()
	keyboard{t, w.Window}.press(fyne.KeyReturn, fyne.KeyEscape)
	if *closed || len(c.actions) != 0 {
		t.Errorf("keys behind a dialog: closed %v, actions %+v", *closed, c.actions)
	}
}
