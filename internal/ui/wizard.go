package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image/png"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// WizardClient is what the setup wizard needs from the agent, which owns
// the wizard's state machine; the window only renders its views.
type WizardClient interface {
	Enroll(ctx context.Context, act localapi.EnrollAction) (enroll.View, error)
	WatchEnroll(ctx context.Context) (<-chan enroll.View, error)
}

// qrSize is the most the QR code's edge may take in the window: large
// enough for phone cameras (4 px modules for the demo's code), small enough
// that E3 fits a 1366×768 screen at 125 % without a scrollbar.
// qrMinModulePixels is the least a module gets, for a very long URI.
const (
	qrSize            = 220
	qrMinModulePixels = 3
)

// qrModulePixels is the largest whole number of pixels per module with
// which uri's QR code fits qrSize.
func qrModulePixels(uri string) int {
	n, err := enroll.QRModules(uri)
	if err != nil || n == 0 {
		return qrMinModulePixels
	}
	return max(qrMinModulePixels, qrSize/n)
}

// WizardWindow is the first-day setup (screens E1–E7).
type WizardWindow struct {
	app    fyne.App
	client WizardClient
	Window fyne.Window

	stepLabel, title, body *widget.Label
	content                *fyne.Container
	notice, errBox         *fyne.Container
	noticeText, errText    *widget.Label
	// page holds everything above the buttons; scroll shows it.
	page   *fyne.Container
	scroll *container.Scroll
	busy   *activity
	// confirming is the open confirmation dialog, if any.
	confirming dialog.Dialog
	// busyFocus had the focus (or would have had it) when the wizard
	// began to wait; it gets it back when the wait ends.
	busyFocus      fyne.Focusable
	back, next     *keyButton
	retry, restart *keyButton
	screenCode     *widget.Label

	user, activation, code *keyEntry
	keys                   *windowKeys

	view     enroll.View
	rendered string // step/page whose content is built
	snap     state.Snapshot
	async    func(func())
}

// NewWizardWindow builds the window; ApplyView renders the wizard.
func NewWizardWindow(a fyne.App, c WizardClient) *WizardWindow {
	w := &WizardWindow{app: a, client: c, Window: a.NewWindow(L("enroll.window_title")), async: goAsync}
	w.stepLabel = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.stepLabel.Importance = widget.HighImportance
	w.title = heading("")
	w.title.SizeName = theme.SizeNameHeadingText
	w.body = wrapped("")
	w.content = container.NewVBox()
	w.noticeText, w.errText = wrapped(""), wrapped("")
	w.errText.Importance = widget.DangerImportance
	w.notice = container.NewBorder(nil, nil, widget.NewIcon(theme.InfoIcon()), nil, w.noticeText)
	w.errBox = container.NewBorder(nil, nil, widget.NewIcon(theme.ErrorIcon()), nil, w.errText)
	w.busy = newActivity(L("enroll.busy"))

	// Escape closes (the agent keeps the progress); Enter outside a field
	// is the primary button.
	w.keys = newWindowKeys(w.Window)
	w.keys.enter = w.Next
	w.user = w.keys.newEntry()
	w.activation = w.keys.newEntry()
	w.code = w.keys.newEntry()
	// A hint, not digits: "123456" looked like a code already typed in.
	w.code.SetPlaceHolder(L("enroll.field.code_hint"))
	w.user.OnSubmitted = func(string) { w.Window.Canvas().Focus(w.activation) }
	w.activation.OnSubmitted = func(string) { w.Next() }
	w.code.OnSubmitted = func(string) { w.Next() }

	w.back = w.keys.newButton(L("enroll.button.back"), theme.NavigateBackIcon(), func() { w.act(localapi.EnrollAction{Action: localapi.EnrollBack}) })
	w.next = w.keys.newButton(L("enroll.button.next"), theme.NavigateNextIcon(), w.Next)
	w.next.Importance = widget.HighImportance
	w.next.IconPlacement = widget.ButtonIconTrailingText
	w.retry = w.keys.newButton(L("enroll.button.retry"), theme.ViewRefreshIcon(), func() { w.act(localapi.EnrollAction{Action: localapi.EnrollRetry}) })
	w.restart = w.keys.newButton(L("enroll.button.restart"), nil, w.ConfirmRestart)

	// The step sits beside the title: one row less, so E3 with its QR code
	// fits a 1366×768 screen at 125 % without a scrollbar.
	w.page = container.NewVBox(container.NewBorder(nil, nil, nil, w.stepLabel, w.title), w.body, w.content, w.notice, w.errBox, w.busy.CanvasObject())
	w.scroll = container.NewVScroll(w.page)
	buttons := container.NewHBox(w.back, w.restart, layout.NewSpacer(), w.retry, w.next)
	framed, code := frame("E1", container.NewBorder(nil, buttons, nil, nil, w.scroll))
	w.screenCode = code
	w.Window.SetContent(framed)
	w.Window.Resize(fyne.NewSize(640, openHeight))
	w.ApplyView(enroll.View{Step: enroll.StepWelcome, Number: 1, Total: enroll.TotalSteps, Code: "E1", Page: enroll.PageStep, Title: "enroll.welcome.title", Body: "enroll.welcome.body", Busy: true})
	return w
}

// Start follows the agent's wizard until ctx ends, reconnecting with
// backoff when the agent restarts.
func (w *WizardWindow) Start(ctx context.Context) {
	go localapi.Follower[enroll.View]{
		Open: w.client.WatchEnroll,
		Handle: func(v enroll.View) bool {
			fyne.Do(func() { w.ApplyView(v) })
			return true
		},
	}.Run(ctx)
}

// Apply implements liveWindow: safe mode and the demo sign-in come from
// the agent's state.
func (w *WizardWindow) Apply(s state.Snapshot) {
	changed := s.SafeMode != w.snap.SafeMode || (s.DemoLogin == nil) != (w.snap.DemoLogin == nil)
	w.snap = s
	// A shared screen shows dots for the user name and activation code.
	for _, e := range []*keyEntry{w.user, w.activation} {
		if e.Password != s.SafeMode {
			e.Password = s.SafeMode
			e.Refresh()
		}
	}
	if changed {
		w.rendered = "" // rebuild with or without the secret
		w.ApplyView(w.view)
	}
}

// AgentLost implements liveWindow.
func (w *WizardWindow) AgentLost() {}

// Next is the primary button: it submits the step's inputs or moves on.
func (w *WizardWindow) Next() {
	v := w.view
	if v.Busy || !v.CanNext && v.Step != enroll.StepDone {
		return
	}
	switch {
	case v.Step == enroll.StepDone:
		w.Window.Close()
	case hasField(v, enroll.FieldActivationCode):
		w.act(localapi.EnrollAction{Action: localapi.EnrollSignIn, User: w.user.Text, ActivationCode: w.activation.Text})
	case hasField(v, enroll.FieldCode):
		// As typed: the agent's wizard owns the code's format.
		code := w.code.Text
		w.code.SetText("")
		w.act(localapi.EnrollAction{Action: localapi.EnrollCode, Code: code})
	default:
		w.act(localapi.EnrollAction{Action: localapi.EnrollNext})
	}
}

// act sends an action off the UI thread; the stream brings the new view,
// and the reply renders it too in case the stream is slow.
func (w *WizardWindow) act(a localapi.EnrollAction) {
	w.setButtons(false)
	w.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		v, err := w.client.Enroll(ctx, a)
		fyne.Do(func() {
			var apiErr *localapi.Error
			if err != nil && !(errors.As(err, &apiErr) && apiErr.Code == "busy") {
				w.errText.SetText(errorText(err))
				w.errBox.Show()
				w.setButtons(true)
				return
			}
			if err == nil {
				w.ApplyView(v)
			}
		})
	})
}

func hasField(v enroll.View, f enroll.Field) bool {
	for _, x := range v.Fields {
		if x == f {
			return true
		}
	}
	return false
}

// ApplyView renders one view of the wizard.
func (w *WizardWindow) ApplyView(v enroll.View) {
	if v.Seq != 0 && v.Seq < w.view.Seq {
		return // a late reply; the stream already brought something newer
	}
	w.view = v
	if v.Step == enroll.StepDone {
		w.stepLabel.SetText(L("enroll.step_label_done", map[string]string{"Code": v.Code}))
	} else {
		w.stepLabel.SetText(L("enroll.step_label", map[string]string{"Number": strconv.Itoa(v.Number), "Total": strconv.Itoa(v.Total), "Code": v.Code}))
	}
	w.screenCode.SetText(L("window.screen_code", map[string]string{"Code": v.Code}))
	w.title.SetText(L(v.Title))
	w.body.SetText(L(v.Body))

	key := string(v.Step) + "/" + string(v.Page) + "/" + authKey(v)
	if key != w.rendered {
		w.rendered = key
		// A field of the old content would keep the focus, and its
		// blinking cursor its redraws, though the field is gone.
		w.Window.Canvas().Unfocus()
		w.busyFocus = nil
		w.content.Objects = w.stepContent(v)
		w.content.Refresh()
		w.focusFirst(v)
	}
	w.parkFocus(v.Busy)
	if v.Step == enroll.StepTest {
		w.content.Objects = w.stepContent(v) // checks change within the step
		w.content.Refresh()
	}
	w.noticeText.SetText(ML(v.Notice))
	setVisible(w.notice, v.Notice != nil)
	// A progress file that could not be saved is shown with the errors:
	// the employee has to act on it (free the disk), though the setup
	// goes on.
	problems := ML(v.Error)
	if v.Warning != nil {
		if problems != "" {
			problems += "\n\n"
		}
		problems += ML(v.Warning)
	}
	w.errText.SetText(problems)
	setVisible(w.errBox, v.Error != nil || v.Warning != nil)
	w.busy.SetRunning(v.Busy)
	w.next.SetText(nextLabel(v))
	setVisible(w.back, v.CanBack)
	setVisible(w.retry, v.CanRetry)
	setVisible(w.restart, v.CanRestart)
	setVisible(w.next, v.CanNext || v.Step == enroll.StepDone)
	w.setButtons(!v.Busy)
	if w.confirming != nil && !v.CanRestart && !v.CanNewSecret {
		w.confirming.Hide() // the step it asked about is gone
	}
	w.relayout()
}

// parkFocus takes the focus away while the wizard waits, and gives it
// back after. Nothing can be typed that would be sent meanwhile, and a
// focused field's blinking cursor redraws the window all the time: more
// than the waiting itself costs.
func (w *WizardWindow) parkFocus(busy bool) {
	c := w.Window.Canvas()
	if busy {
		if f := c.Focused(); f != nil {
			w.busyFocus = f
			c.Unfocus()
		}
		return
	}
	if w.busyFocus != nil {
		c.Focus(w.busyFocus)
		w.busyFocus = nil
	}
}

// relayout lays the page out again for its new content. Swapping the
// step's content and showing the notice change the page's height, but
// a container's Refresh lays out only its own children within its old
// size: the new, taller form overflowed onto the notice below it until
// the window was resized (issue 15).
func (w *WizardWindow) relayout() {
	w.page.Refresh()
	w.scroll.Refresh()
}

// ConfirmRestart asks before starting the setup again, saying what it
// does; only "Neu beginnen" sends it to the agent.
func (w *WizardWindow) ConfirmRestart() {
	body := "enroll.restart.body"
	if w.view.Enrolled {
		body = "enroll.restart.body_enrolled"
	}
	w.confirm(L("enroll.restart.title"), L(body), L("enroll.restart.confirm"), func() {
		w.act(localapi.EnrollAction{Action: localapi.EnrollRestart})
	})
}

// confirmNewSecret asks before replacing the QR code a person may have
// scanned already.
func (w *WizardWindow) confirmNewSecret() {
	w.confirm(L("enroll.new_secret.title"), L("enroll.new_secret.body"), L("enroll.new_secret.confirm"), func() {
		w.act(localapi.EnrollAction{Action: localapi.EnrollNewSecret})
	})
}

// confirm shows a question over the window. Cancelling is the default:
// "Abbrechen" has the focus, Escape cancels from anywhere in the dialog,
// Enter or Space presses the focused button and Tab moves between them.
func (w *WizardWindow) confirm(title, body, confirmLabel string, onConfirm func()) {
	if w.confirming != nil {
		w.confirming.Hide()
	}
	var d *dialog.CustomDialog
	cancel := func() { d.Hide() }
	cancelButton := newDialogButton(L("enroll.button.cancel"), theme.CancelIcon(), cancel, cancel)
	confirmButton := newDialogButton(confirmLabel, theme.ConfirmIcon(), func() { d.Hide(); onConfirm() }, cancel)
	confirmButton.Importance = widget.DangerImportance
	text := wrapped(body)
	width := canvas.NewRectangle(nil)
	width.SetMinSize(fyne.NewSize(420, 0))
	d = dialog.NewCustomWithoutButtons(title, container.NewStack(width, text), w.Window)
	d.SetButtons([]fyne.CanvasObject{cancelButton, confirmButton})
	c := w.Window.Canvas()
	prevKey := c.OnTypedKey()
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name == fyne.KeyEscape {
			cancel()
			return
		}
		if prevKey != nil {
			prevKey(ev)
		}
	})
	d.SetOnClosed(func() {
		c.SetOnTypedKey(prevKey)
		if w.confirming == d {
			w.confirming = nil
		}
	})
	w.confirming = d
	d.Show()
	c.Focus(cancelButton)
}

func (w *WizardWindow) setButtons(enabled bool) {
	for _, b := range []*keyButton{w.back, w.next, w.retry, w.restart} {
		if enabled {
			b.Enable()
		} else {
			b.Disable()
		}
	}
}

// authKey tells the authenticator's renderings apart: hidden, or shown
// with which secret (a new QR code must replace the old one on screen).
func authKey(v enroll.View) string {
	if v.Authenticator == nil || v.Authenticator.Hidden {
		return "hidden"
	}
	sum := sha256.Sum256([]byte(v.Authenticator.URI.Reveal()))
	return "shown/" + hex.EncodeToString(sum[:8])
}

func nextLabel(v enroll.View) string {
	switch v.Step {
	case enroll.StepDevice:
		return L("enroll.button.register")
	case enroll.StepTest:
		if len(v.Checks) == 0 {
			return L("enroll.button.test")
		}
	case enroll.StepDone:
		return L("enroll.button.finish")
	}
	return L("enroll.button.next")
}

func (w *WizardWindow) focusFirst(v enroll.View) {
	switch {
	case hasField(v, enroll.FieldUser):
		if w.user.Text == "" && v.User != "" {
			w.user.SetText(v.User)
		}
		if w.user.Text == "" {
			w.Window.Canvas().Focus(w.user)
		} else {
			w.Window.Canvas().Focus(w.activation)
		}
	case hasField(v, enroll.FieldCode):
		w.Window.Canvas().Focus(w.code)
	default:
		// A field of the last step would keep the keys, though hidden;
		// without focus, Enter reaches the primary button.
		w.Window.Canvas().Unfocus()
	}
}

// stepContent builds what a step shows between its text and the buttons.
func (w *WizardWindow) stepContent(v enroll.View) []fyne.CanvasObject {
	var objs []fyne.CanvasObject
	if d := w.snap.DemoLogin; d != nil && (v.Step == enroll.StepWelcome || v.Step == enroll.StepSignIn) {
		text := L("enroll.demo_login", map[string]string{"User": d.User, "Code": d.ActivationCode})
		if w.snap.SafeMode {
			text = L("enroll.demo_login_hidden")
		}
		objs = append(objs, notice(theme.InfoIcon(), text, ""))
	}
	if v.Page != enroll.PageStep {
		return objs
	}
	switch {
	case hasField(v, enroll.FieldActivationCode):
		form := widget.NewForm(
			widget.NewFormItem(L("enroll.field.user"), w.user),
			widget.NewFormItem(L("enroll.field.activation_code"), w.activation),
		)
		objs = append(objs, form)
	case hasField(v, enroll.FieldCode):
		objs = append(objs, widget.NewForm(widget.NewFormItem(L("enroll.field.code"), w.code)))
	case v.Step == enroll.StepAuthenticator && v.Authenticator != nil:
		objs = append(objs, w.authenticatorContent(v.Authenticator))
	case v.Step == enroll.StepTest:
		for _, c := range v.Checks {
			icon := theme.ConfirmIcon()
			if !c.OK {
				icon = theme.ErrorIcon()
			}
			objs = append(objs, container.NewHBox(widget.NewIcon(icon), widget.NewLabel(L(c.Name))))
		}
	}
	return objs
}

func (w *WizardWindow) authenticatorContent(a *enroll.Authenticator) fyne.CanvasObject {
	apps := wrapped(L("enroll.authenticator.apps", map[string]string{"Apps": strings.Join(a.Apps, ", ")}))
	account := a.Account
	if w.snap.SafeMode {
		account = L("enroll.authenticator.account_hidden")
	}
	who := widget.NewForm(
		widget.NewFormItem(L("enroll.authenticator.issuer"), widget.NewLabel(a.Issuer)),
		widget.NewFormItem(L("enroll.authenticator.account"), wrapped(account)),
	)
	if a.Hidden || w.snap.SafeMode || a.URI == "" {
		text := L("enroll.authenticator.hidden")
		show := w.keys.newButton(L("enroll.button.show_secret"), theme.VisibilityIcon(), func() {
			w.act(localapi.EnrollAction{Action: localapi.EnrollToggleSecret})
		})
		if w.snap.SafeMode {
			text = L("enroll.safe_mode")
			show.Disable()
		}
		placeholder := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
		placeholder.SetMinSize(fyne.NewSize(qrSize, qrSize))
		placeholder.CornerRadius = theme.Size(theme.SizeNameInputRadius)
		box := container.NewStack(placeholder, container.NewCenter(container.NewVBox(widget.NewIcon(theme.VisibilityOffIcon()), show)))
		return container.NewVBox(container.NewHBox(box, container.NewVBox(wrapped(text), who)), apps)
	}
	qr := canvas.NewImageFromResource(nil)
	qr.FillMode = canvas.ImageFillContain
	qr.ScaleMode = canvas.ImageScalePixels
	qr.SetMinSize(fyne.NewSize(qrSize, qrSize))
	// A whole number of pixels per module, shown at its own size: a QR
	// code scaled by a fraction gets modules of uneven width, which phone
	// cameras (and decoders) misread.
	if data, err := enroll.QRPNG(a.URI.Reveal(), -qrModulePixels(a.URI.Reveal())); err == nil {
		qr.Resource = fyne.NewStaticResource("qr.png", data)
		if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err == nil {
			qr.SetMinSize(fyne.NewSize(float32(cfg.Width), float32(cfg.Height)))
		}
	}
	key := widget.NewLabelWithStyle(a.ManualKey.Reveal(), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	key.Wrapping = fyne.TextWrapWord
	hide := w.keys.newButton(L("enroll.button.hide_secret"), theme.VisibilityOffIcon(), func() {
		w.act(localapi.EnrollAction{Action: localapi.EnrollToggleSecret})
	})
	actions := container.NewHBox(hide)
	if w.view.CanNewSecret {
		renew := w.keys.newButton(L("enroll.button.new_secret"), theme.ViewRefreshIcon(), w.confirmNewSecret)
		renew.Importance = widget.LowImportance
		actions.Add(renew)
	}
	side := container.NewVBox(widget.NewLabelWithStyle(L("enroll.authenticator.manual_key"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), key, who, actions)
	return container.NewVBox(container.NewBorder(nil, nil, qr, nil, side), apps)
}
