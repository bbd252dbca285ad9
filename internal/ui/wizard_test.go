package ui

import (
	"regexp"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

const testURI = "otpauth://totp/Stadt%20Musterstadt:anna.schmidt?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Stadt%20Musterstadt"

func newWizard(t *testing.T) (*WizardWindow, *recordingClient) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	c := &recordingClient{}
	w := NewWizardWindow(a, c)
	w.async = inline
	w.Window.Resize(fyne.NewSize(640, openHeight))
	return w, c
}

func view(step enroll.Step, n int, title, body string) enroll.View {
	return enroll.View{Seq: uint64(n), Step: step, Number: n, Total: 6, Code: "E" + string(rune('0'+n)), Page: enroll.PageStep,
		Title: title, Body: body, CanNext: true}
}

func TestWizardSignIn(t *testing.T) {
	w, c := newWizard(t)
	w.Apply(state.Snapshot{DemoLogin: &state.DemoLogin{User: "anna.schmidt", ActivationCode: "K7P2-QX9M"}})
	v := view(enroll.StepSignIn, 2, "enroll.sign_in.title", "enroll.sign_in.body")
	v.Fields = []enroll.Field{enroll.FieldUser, enroll.FieldActivationCode}
	v.CanBack = true
	v.Error = &state.Message{Key: portal.KeyActivationUsed}
	w.ApplyView(v)
	test.AssertRendersToMarkup(t, "wizard_sign_in.xml", w.Window.Canvas())
	if got := w.stepLabel.Text; got != "Schritt 2 von 6 · E2" {
		t.Errorf("step label = %q", got)
	}
	if got := w.screenCode.Text; got != "Bildschirm E2" {
		t.Errorf("screen code = %q", got)
	}

	// Enter in the last field submits both fields, as Weiter does.
	test.Type(w.user, "anna.schmidt")
	test.Type(w.activation, "K7P2-QX9M")
	c.nextView = view(enroll.StepAuthenticator, 3, "enroll.authenticator.title", "enroll.authenticator.body")
	w.activation.OnSubmitted(w.activation.Text)
	if len(c.actions) != 1 || c.actions[0] != (localapi.EnrollAction{Action: localapi.EnrollSignIn, User: "anna.schmidt", ActivationCode: "K7P2-QX9M"}) {
		t.Fatalf("actions = %+v", c.actions)
	}
	if w.view.Step != enroll.StepAuthenticator {
		t.Errorf("window did not render the reply: %s", w.view.Step)
	}
}

func TestWizardAuthenticatorHidesSecret(t *testing.T) {
	w, _ := newWizard(t)
	v := view(enroll.StepAuthenticator, 3, "enroll.authenticator.title", "enroll.authenticator.body")
	v.CanBack = true
	v.Authenticator = &enroll.Authenticator{Hidden: true, Issuer: "Stadt Musterstadt", Account: "anna.schmidt", Apps: enroll.Apps}
	w.ApplyView(v)
	test.AssertRendersToMarkup(t, "wizard_authenticator_hidden.xml", w.Window.Canvas())
	if strings.Contains(markup(w), "qr.png") {
		t.Fatal("QR code rendered while hidden")
	}

	v.Seq++
	v.Authenticator = &enroll.Authenticator{Hidden: false, URI: testURI, ManualKey: "JBSW Y3DP EHPK 3PXP JBSW Y3DP", Issuer: "Stadt Musterstadt", Account: "anna.schmidt", Apps: enroll.Apps}
	w.ApplyView(v)
	m := markup(w)
	if !strings.Contains(m, "qr.png") || !strings.Contains(m, "JBSW Y3DP EHPK 3PXP JBSW Y3DP") {
		t.Fatal("QR code or manual key not shown when revealed")
	}

	// Screen-share safe mode hides them again, whatever the view says.
	w.Apply(state.Snapshot{SafeMode: true})
	m = markup(w)
	if strings.Contains(m, "qr.png") || strings.Contains(m, "JBSW") {
		t.Fatal("secret visible in safe mode")
	}
	if !strings.Contains(m, "Bildschirm wird geteilt") {
		t.Error("safe mode does not explain why the code is hidden")
	}
}

func TestWizardDoneClosesOnFinish(t *testing.T) {
	w, c := newWizard(t)
	v := view(enroll.StepDone, 6, "enroll.done.title", "enroll.done.body")
	v.CanNext, v.Enrolled, v.Code = false, true, "E7"
	w.ApplyView(v)
	if !w.next.Visible() || w.next.Text != "Fertig" {
		t.Fatalf("finish button = %q visible %v", w.next.Text, w.next.Visible())
	}
	test.AssertRendersToMarkup(t, "wizard_done.xml", w.Window.Canvas())
	w.Next()
	if len(c.actions) != 0 {
		t.Errorf("Fertig sent %v to the agent", c.actions)
	}
}

func TestWizardCodeStepSendsTypedCode(t *testing.T) {
	w, c := newWizard(t)
	v := view(enroll.StepConfirm, 4, "enroll.confirm.title", "enroll.confirm.body")
	v.Fields = []enroll.Field{enroll.FieldCode}
	w.ApplyView(v)
	test.Type(w.code, "123 456")
	w.Next()
	if len(c.actions) != 1 || c.actions[0].Action != localapi.EnrollCode || c.actions[0].Code != "123 456" {
		t.Fatalf("actions = %+v", c.actions)
	}
	if w.code.Text != "" {
		t.Error("code stays in the field after sending")
	}
}

// markup is what the window renders; hidden objects are not in it.
func markup(w *WizardWindow) string { return test.RenderToMarkup(w.Window.Canvas()) }

// A progress file the agent could not save is said in the window, with
// the error, and Retry is offered; the step stays usable.
func TestWizardShowsUnsavedProgress(t *testing.T) {
	w, c := newWizard(t)
	v := view(enroll.StepDone, 6, "enroll.done.title", "enroll.done.body")
	v.CanNext, v.Enrolled, v.CanRetry = false, true, true
	v.Warning = &state.Message{Key: "enroll.warning.disk_full", Args: map[string]string{"Dir": "/home/anna/.local/state/dienstweg"}}
	w.ApplyView(v)
	if !w.errBox.Visible() || !strings.Contains(w.errText.Text, "Speicherplatz ist voll") || !strings.Contains(w.errText.Text, "/home/anna/.local/state/dienstweg") {
		t.Fatalf("warning not shown: visible %v, text %q", w.errBox.Visible(), w.errText.Text)
	}
	if !w.retry.Visible() {
		t.Fatal("no way to save again")
	}
	c.nextView = v
	c.nextView.Seq++
	c.nextView.Warning, c.nextView.CanRetry = nil, false
	test.Tap(w.retry)
	if len(c.actions) != 1 || c.actions[0].Action != localapi.EnrollRetry {
		t.Fatalf("actions = %+v", c.actions)
	}
	if w.errBox.Visible() {
		t.Error("warning still shown after the progress was saved")
	}
}

// "Einrichtung neu beginnen" asks first. Cancel is the default: focused,
// and Escape or Enter on it sends nothing; only the confirm button,
// reached with Tab, restarts (issue 15).
func TestWizardRestartAsksFirst(t *testing.T) {
	for _, enrolled := range []bool{false, true} {
		w, c := newWizard(t)
		v := view(enroll.StepDone, 6, "enroll.done.title", "enroll.done.body")
		v.Code, v.CanNext, v.CanRestart, v.Enrolled = "E7", false, true, enrolled
		w.ApplyView(v)
		canvas := w.Window.Canvas()

		test.Tap(w.restart)
		if len(c.actions) != 0 {
			t.Fatalf("restart sent %v without asking", c.actions)
		}
		m := shownText(w)
		want := "Ihre bisherigen Eingaben gehen verloren"
		if enrolled {
			want = "Danach: Löschen Sie den alten Eintrag für Dienstweg in der Authenticator-App."
		}
		if !strings.Contains(m, "Einrichtung neu beginnen?") || !strings.Contains(m, want) {
			t.Fatalf("enrolled=%v: the question does not say what it does:\n%s", enrolled, m)
		}
		focused, ok := canvas.Focused().(*dialogButton)
		if !ok || focused.Text != "Abbrechen" {
			t.Fatalf("focus on %T %v, want the cancel button", canvas.Focused(), focused)
		}
		focused.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
		if w.confirming != nil || len(c.actions) != 0 {
			t.Fatalf("Escape: dialog open %v, actions %v", w.confirming != nil, c.actions)
		}

		test.Tap(w.restart)
		canvas.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
		if w.confirming != nil || len(c.actions) != 0 {
			t.Fatalf("Enter on the default button: dialog open %v, actions %v", w.confirming != nil, c.actions)
		}

		test.Tap(w.restart)
		canvas.FocusNext()
		if b, _ := canvas.Focused().(*dialogButton); b == nil || b.Text != "Neu beginnen" {
			t.Fatalf("Tab goes to %v, want the confirm button", canvas.Focused())
		}
		c.nextView = view(enroll.StepWelcome, 7, "enroll.welcome.title", "enroll.welcome.body")
		canvas.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
		if len(c.actions) != 1 || c.actions[0].Action != localapi.EnrollRestart {
			t.Fatalf("confirmed restart sent %v", c.actions)
		}
	}
}

// A new QR code only after a warning that the scanned entry stops working.
func TestWizardNewSecretAsksFirst(t *testing.T) {
	w, c := newWizard(t)
	v := view(enroll.StepAuthenticator, 3, "enroll.authenticator.title", "enroll.authenticator.body")
	v.CanBack, v.CanNewSecret = true, true
	v.Authenticator = &enroll.Authenticator{URI: testURI, ManualKey: "JBSW Y3DP EHPK 3PXP JBSW Y3DP", Issuer: "Stadt Musterstadt", Account: "anna.schmidt", Apps: enroll.Apps}
	w.ApplyView(v)
	renew := findButtonDeep(w.Window.Canvas().Content(), "Neuen QR-Code erzeugen")
	if renew == nil {
		t.Fatal("no button for a new QR code")
	}
	test.Tap(renew)
	if m := shownText(w); len(c.actions) != 0 || !strings.Contains(m, "Neuen QR-Code erzeugen?") || !strings.Contains(m, "funktioniert dieser Eintrag in der Authenticator-App danach nicht mehr") {
		t.Fatalf("no warning before a new QR code; actions %v", c.actions)
	}
	w.Window.Canvas().FocusNext()
	w.Window.Canvas().Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if len(c.actions) != 1 || c.actions[0].Action != localapi.EnrollNewSecret {
		t.Fatalf("actions = %v", c.actions)
	}
}

// Screen-share safe mode hides the demo login and the account name too.
func TestWizardSafeModeHidesLogin(t *testing.T) {
	w, _ := newWizard(t)
	w.Apply(state.Snapshot{SafeMode: true, DemoLogin: &state.DemoLogin{User: "anna.schmidt", ActivationCode: "K7P2-QX9M"}})
	v := view(enroll.StepSignIn, 2, "enroll.sign_in.title", "enroll.sign_in.body")
	v.Fields = []enroll.Field{enroll.FieldUser, enroll.FieldActivationCode}
	w.ApplyView(v)
	test.Type(w.user, "anna.schmidt")
	test.Type(w.activation, "K7P2-QX9M")
	if m := markup(w); strings.Contains(m, "anna.schmidt") || strings.Contains(m, "K7P2") {
		t.Fatalf("sign-in shows the demo login in safe mode:\n%s", m)
	}
	v = view(enroll.StepAuthenticator, 3, "enroll.authenticator.title", "enroll.authenticator.body")
	v.Authenticator = &enroll.Authenticator{Hidden: true, Issuer: "Stadt Musterstadt", Account: "anna.schmidt", Apps: enroll.Apps}
	w.ApplyView(v)
	if m := markup(w); strings.Contains(m, "anna.schmidt") {
		t.Fatalf("E3 shows the account in safe mode:\n%s", m)
	}
}

// findButtonDeep finds a button by its text below o, also inside widgets.
func findButtonDeep(o fyne.CanvasObject, text string) *widget.Button {
	switch x := o.(type) {
	case *widget.Button:
		if x.Text == text {
			return x
		}
	case *keyButton:
		if x.Text == text {
			return &x.Button
		}
	case *fyne.Container:
		for _, c := range x.Objects {
			if b := findButtonDeep(c, text); b != nil {
				return b
			}
		}
	case fyne.Widget:
		r := test.WidgetRenderer(x)
		for _, c := range r.Objects() {
			if b := findButtonDeep(c, text); b != nil {
				return b
			}
		}
	}
	return nil
}

// No field keeps the focus, and its blinking cursor, where it is gone or
// cannot be used: a new step's content, or while the wizard waits. After
// the wait on the same step (an error), the field has the focus again.
func TestWizardFocus(t *testing.T) {
	w, _ := newWizard(t)
	c := w.Window.Canvas()
	v := view(enroll.StepSignIn, 2, "enroll.sign_in.title", "enroll.sign_in.body")
	v.Fields = []enroll.Field{enroll.FieldUser, enroll.FieldActivationCode}
	v.User = "anna.schmidt"
	w.ApplyView(v)
	if c.Focused() != w.activation {
		t.Fatalf("focus on %v, want the activation code", c.Focused())
	}
	v.Seq, v.Busy, v.CanNext = 3, true, false
	w.ApplyView(v)
	if c.Focused() != nil {
		t.Fatalf("focus on %T while waiting", c.Focused())
	}
	if !w.busy.Running() {
		t.Fatal("no activity shown while waiting")
	}
	v.Seq, v.Busy, v.CanNext = 4, false, true
	v.Error = &state.Message{Key: portal.KeyActivationUsed}
	w.ApplyView(v)
	if c.Focused() != w.activation || w.busy.Running() {
		t.Fatalf("after the wait: focus on %v, activity running %v", c.Focused(), w.busy.Running())
	}

	// A new step that arrives while waiting: its first field gets the
	// focus only once the wait is over.
	v.Seq, v.Step, v.Busy = 5, enroll.StepConfirm, true
	v.Fields = []enroll.Field{enroll.FieldCode}
	w.ApplyView(v)
	if c.Focused() != nil {
		t.Fatalf("focus on %T while waiting on a new step", c.Focused())
	}
	v.Seq, v.Busy = 6, false
	w.ApplyView(v)
	if c.Focused() != w.code {
		t.Fatalf("focus on %v after the wait, want the code field", c.Focused())
	}

	e3 := view(enroll.StepAuthenticator, 7, "enroll.authenticator.title", "enroll.authenticator.body")
	e3.Number, e3.Code = 3, "E3"
	e3.Authenticator = &enroll.Authenticator{Hidden: true, Issuer: "Stadt Musterstadt", Account: "anna.schmidt", Apps: enroll.Apps}
	w.ApplyView(e3)
	if c.Focused() != nil {
		t.Fatalf("E3 leaves the focus on %T of E2", c.Focused())
	}
}

// The activity indicator moves only while running, and stops its timer.
func TestActivity(t *testing.T) {
	ticks := make(chan func(<-chan struct{}), 1)
	old := activityTicks
	activityTicks = func(stop <-chan struct{}, step func(<-chan struct{})) {
		ticks <- func(<-chan struct{}) { step(stop) }
	}
	t.Cleanup(func() { activityTicks = old })
	test.NewTempApp(t)
	a := newActivity("Bitte warten …")
	a.SetRunning(true)
	step := <-ticks
	before := a.lit
	step(nil)
	if a.lit == before || !a.row.Visible() {
		t.Fatalf("running: lit %d→%d, visible %v", before, a.lit, a.row.Visible())
	}
	a.SetRunning(false)
	before = a.lit
	step(nil) // a tick that was queued before the stop
	if a.lit != before || a.row.Visible() {
		t.Fatalf("stopped: lit %d→%d, visible %v", before, a.lit, a.row.Visible())
	}
}

// shownText is the text the window draws, its lines joined by spaces.
func shownText(w *WizardWindow) string {
	var b strings.Builder
	for _, m := range regexp.MustCompile(`<text[^>]*>([^<]*)</text>`).FindAllStringSubmatch(markup(w), -1) {
		b.WriteString(m[1] + " ")
	}
	return b.String()
}
