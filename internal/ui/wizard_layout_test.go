package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/state"
)

// bounds is an object's rectangle on the canvas.
func bounds(o fyne.CanvasObject) (top, bottom float32) {
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	return pos.Y, pos.Y + o.Size().Height
}

// After a restart at E4, "Zurück" swaps the one-field form for the
// two-field sign-in form and shows a notice below it. The notice must
// be laid out below the new form, not drawn over it (issue 15).
func TestWizardNoticeBelowSwappedForm(t *testing.T) {
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			setTestLanguage(t, lang)
			w, _ := newWizard(t)
			e4 := view(enroll.StepConfirm, 4, "enroll.confirm.title", "enroll.confirm.body")
			e4.Fields = []enroll.Field{enroll.FieldCode}
			e4.CanBack, e4.CanRestart = true, true
			e4.Notice = &state.Message{Key: "enroll.notice.resume_confirm"}
			w.ApplyView(e4)

			e2 := view(enroll.StepSignIn, 5, "enroll.sign_in.title", "enroll.sign_in.body")
			e2.Number, e2.Code = 2, "E2"
			e2.Fields = []enroll.Field{enroll.FieldUser, enroll.FieldActivationCode}
			e2.CanBack = true
			e2.User = "anna.schmidt"
			e2.Notice = &state.Message{Key: "enroll.notice.sign_in_again"}
			w.ApplyView(e2)
			test.RenderToMarkup(w.Window.Canvas()) // paints, as a frame does

			_, formBottom := bounds(w.content)
			_, userBottom := bounds(w.user)
			_, actBottom := bounds(w.activation)
			noticeTop, _ := bounds(w.notice)
			for name, b := range map[string]float32{"form": formBottom, "user field": userBottom, "activation field": actBottom} {
				if noticeTop < b {
					t.Errorf("notice at y=%v overlaps the %s ending at y=%v", noticeTop, name, b)
				}
			}
		})
	}
}

// setTestLanguage switches the windows' language for one test; the
// language is process-wide, so such tests do not run in parallel.
func setTestLanguage(tb testing.TB, lang string) {
	tb.Helper()
	if err := SetLanguage(lang); err != nil {
		tb.Fatalf("SetLanguage(%s): %v", lang, err)
	}
	tb.Cleanup(func() {
		if err := SetLanguage("de"); err != nil {
			tb.Errorf("SetLanguage(de): %v", err)
		}
	})
}

func init() {
	// No timer in tests: the test driver runs fyne.Do on the timer's
	// goroutine, beside the test's. TestActivity drives the steps.
	activityTicks = func(<-chan struct{}, func(<-chan struct{})) {}
}

// The authenticator step with the QR code shown fits the window without
// a scrollbar (it was 8 px too tall), in both languages.
func TestWizardAuthenticatorFits(t *testing.T) {
	// As the demo portal issues it: the longest issuer, a 32-letter secret.
	const uri = "otpauth://totp/Stadt%20Musterstadt%20%28Demo%29:anna.schmidt?algorithm=SHA1&digits=6&issuer=Stadt%20Musterstadt%20%28Demo%29&period=30&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) {
			setTestLanguage(t, lang)
			w, _ := newWizard(t)
			v := view(enroll.StepAuthenticator, 3, "enroll.authenticator.title", "enroll.authenticator.body")
			v.CanBack, v.CanNewSecret = true, true
			v.Authenticator = &enroll.Authenticator{URI: uri, ManualKey: "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP", Issuer: "Stadt Musterstadt (Demo)", Account: "anna.schmidt", Apps: enroll.Apps}
			w.ApplyView(v)
			test.RenderToMarkup(w.Window.Canvas())
			if need, have := w.page.MinSize().Height, w.scroll.Size().Height; need > have {
				t.Errorf("E3 needs %v px, the window shows %v: a scrollbar", need, have)
			}
		})
	}
}
