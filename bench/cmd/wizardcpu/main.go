// Command wizardcpu shows one window for bench/wizard-cpu.sh: the setup
// wizard in a given state, or a bare Fyne window with the same content
// built from Fyne's own widgets, so the script can compare what each
// costs while it sits open.
//
//	wizard-busy  the wizard at E2 waiting for the portal (sign-in sent)
//	bare-busy    the same content with Fyne's infinite progress bar and
//	             the activation code field focused: the old wizard's shape
//	bare-bar     the same content with Fyne's infinite progress bar alone
//	bare-focus   the same content, the field focused, no bar
//	bare-static  the same content, nothing focused or animated
//	wizard-e3    the wizard at E3 after E2 had a field focused
//	bare-e3      the same content, nothing focused
//
// The wizard gets its views directly, as the agent would stream them; no
// agent runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/ui"
)

// noAgent is a wizard client without an agent: the bench applies views.
type noAgent struct{}

var errNoAgent = errors.New("no agent in the benchmark")

func (noAgent) Enroll(context.Context, localapi.EnrollAction) (enroll.View, error) {
	return enroll.View{}, errNoAgent
}

func (noAgent) WatchEnroll(context.Context) (<-chan enroll.View, error) { return nil, errNoAgent }

func signIn(busy bool) enroll.View {
	seq := uint64(1)
	if busy {
		seq = 2
	}
	return enroll.View{Seq: seq, Step: enroll.StepSignIn, Number: 2, Total: enroll.TotalSteps, Code: "E2", Page: enroll.PageStep,
		Title: "enroll.sign_in.title", Body: "enroll.sign_in.body", User: "anna.schmidt",
		Fields: []enroll.Field{enroll.FieldUser, enroll.FieldActivationCode}, CanBack: !busy, CanNext: !busy, Busy: busy}
}

func authenticator() enroll.View {
	return enroll.View{Seq: 3, Step: enroll.StepAuthenticator, Number: 3, Total: enroll.TotalSteps, Code: "E3", Page: enroll.PageStep,
		Title: "enroll.authenticator.title", Body: "enroll.authenticator.body", CanBack: true, CanNext: true,
		Authenticator: &enroll.Authenticator{Hidden: true, Issuer: "Stadt Musterstadt", Account: "anna.schmidt", Apps: enroll.Apps}}
}

func main() {
	mode := flag.String("mode", "wizard-busy", "wizard-busy, bare-busy, bare-bar, bare-focus, bare-static, wizard-e3 or bare-e3")
	flag.Parse()
	if err := ui.SetLanguage("de"); err != nil {
		fmt.Fprintln(os.Stderr, "wizardcpu:", err)
		os.Exit(1)
	}
	a := app.NewWithID("de.dienstweg.bench.wizardcpu")
	a.Settings().SetTheme(ui.Theme())
	var w fyne.Window
	var bar *widget.ProgressBarInfinite
	switch *mode {
	case "wizard-busy":
		ww := ui.NewWizardWindow(a, noAgent{})
		w = ww.Window
		w.Show()
		// As a person gets there: E2 on screen, then "Weiter".
		ww.ApplyView(signIn(false))
		ww.ApplyView(signIn(true))
	case "wizard-e3":
		ww := ui.NewWizardWindow(a, noAgent{})
		w = ww.Window
		w.Show()
		ww.ApplyView(signIn(false)) // focuses a field, as a person types there
		ww.ApplyView(authenticator())
	case "bare-busy", "bare-bar", "bare-focus", "bare-static":
		w = a.NewWindow("bare")
		bar = widget.NewProgressBarInfinite()
		if *mode != "bare-busy" && *mode != "bare-bar" {
			bar.Hide()
		}
		user, code := widget.NewEntry(), widget.NewEntry()
		user.SetText("anna.schmidt")
		form := widget.NewForm(widget.NewFormItem(ui.L("enroll.field.user"), user), widget.NewFormItem(ui.L("enroll.field.activation_code"), code))
		w.SetContent(bare(signIn(true), form, bar))
		if !bar.Visible() {
			bar = nil
		}
		if *mode == "bare-busy" || *mode == "bare-focus" {
			// Where the activation code was typed last.
			w.Canvas().Focus(code)
		}
	case "bare-e3":
		w = a.NewWindow("bare")
		w.SetContent(bare(authenticator(), widget.NewLabel(ui.L("enroll.authenticator.hidden")), widget.NewLabel("")))
	default:
		fmt.Fprintln(os.Stderr, "wizardcpu: unknown mode", *mode)
		os.Exit(2)
	}
	w.Resize(fyne.NewSize(640, 640))
	w.Show()
	if bar != nil {
		// Fyne starts the animation on the first refresh after the renderer
		// exists (Start alone returns early: running is already true).
		bar.Refresh()
	}
	a.Run()
}

// bare lays the view's texts, content and the buttons out the plain way.
func bare(v enroll.View, content, extra fyne.CanvasObject) fyne.CanvasObject {
	title := widget.NewLabel(ui.L(v.Title))
	title.TextStyle.Bold = true
	body := widget.NewLabel(ui.L(v.Body))
	body.Wrapping = fyne.TextWrapWord
	buttons := container.NewHBox(widget.NewButtonWithIcon(ui.L("enroll.button.back"), theme.NavigateBackIcon(), func() {}),
		layout.NewSpacer(), widget.NewButtonWithIcon(ui.L("enroll.button.next"), theme.NavigateNextIcon(), func() {}))
	page := container.NewVBox(widget.NewLabel(v.Code), title, body, content, extra)
	return container.NewPadded(container.NewBorder(nil, buttons, nil, nil, container.NewVScroll(page)))
}
