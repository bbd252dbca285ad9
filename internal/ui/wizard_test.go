package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

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
	v.CanNext, v.Enrolled = false, true
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
