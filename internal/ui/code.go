package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/state"
)

// CodeWindow asks for the 6-digit code to start home office (screen C1).
type CodeWindow struct {
	app    fyne.App
	client Client
	Window fyne.Window

	entry    *keyEntry
	submit   *keyButton
	errLabel *widget.Label
	done     *widget.Label // the confirmation after connecting
	busy     *widget.ProgressBarInfinite
	// later runs f after d on the UI thread; tests run it at once.
	later func(d time.Duration, f func())
	// async runs calls to the agent off the UI thread; tests run them
	// inline, because Fyne's test driver has no separate UI thread.
	async func(func())
	// extending: a session runs, so a code extends it ("Verlängern" in
	// the tray, the status window or the notification opened the prompt).
	extending bool
}

// NewCodeWindow builds the prompt with the entry focused.
func NewCodeWindow(a fyne.App, c Client) *CodeWindow {
	w := &CodeWindow{app: a, client: c, Window: a.NewWindow(L("code.title")), async: goAsync, later: afterOnUI}
	keys := newWindowKeys(w.Window)
	w.entry = keys.newEntry()
	w.entry.SetPlaceHolder(L("code.placeholder"))
	w.entry.OnSubmitted = func(string) { w.Submit() }
	w.errLabel = wrapped("")
	w.errLabel.Importance = widget.DangerImportance
	w.errLabel.Hide()
	w.done = wrapped(L("code.connected"))
	w.done.Importance = widget.SuccessImportance
	w.done.TextStyle.Bold = true
	w.done.Hide()
	w.busy = widget.NewProgressBarInfinite()
	w.busy.Stop()
	w.busy.Hide()
	w.submit = keys.newButton(L("code.submit"), nil, w.Submit)
	w.submit.Importance = widget.HighImportance
	cancel := keys.newButton(L("code.cancel"), nil, w.Window.Close)
	body := container.NewVBox(
		heading(L("code.heading")),
		wrapped(L("code.explain")),
		w.entry,
		w.errLabel,
		w.done,
		w.busy,
		container.NewHBox(cancel, w.submit),
	)
	framed, _ := frame("C1", body)
	w.Window.SetContent(framed)
	w.Window.Resize(fyne.NewSize(460, 320))
	w.Window.Canvas().Focus(w.entry)
	return w
}

// Submit checks the format locally, then asks the agent to start.
func (w *CodeWindow) Submit() {
	code, ok := authcode.Normalise(w.entry.Text)
	if !ok {
		w.showError(L("code.format"))
		return
	}
	w.errLabel.Hide()
	w.submit.Disable()
	// What the code does is decided now: once it is sent, the session
	// is active either way.
	extend := w.extending
	w.busy.Show()
	w.busy.Start()
	w.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		err := w.client.StartSession(ctx, code)
		fyne.Do(func() {
			w.busy.Stop()
			w.busy.Hide()
			w.submit.Enable()
			if err != nil {
				w.entry.SetText("")
				w.showError(errorText(err))
				w.Window.Canvas().Focus(w.entry)
				return
			}
			w.confirm(extend)
		})
	})
}

// confirmFor is how long the confirmation stays before the prompt
// closes: long enough to read, short enough not to be in the way.
const confirmFor = 2 * time.Second

// confirm says that home office works now, then closes the prompt, so
// that success is seen and not only a small icon changing colour.
func (w *CodeWindow) confirm(extended bool) {
	if extended {
		w.done.SetText(L("code.extended"))
	}
	w.entry.Disable()
	w.submit.Disable()
	w.done.Show()
	w.later(confirmFor, w.Window.Close)
}

// afterOnUI runs f on the UI thread after d.
func afterOnUI(d time.Duration, f func()) {
	time.AfterFunc(d, func() { fyne.Do(f) })
}

func (w *CodeWindow) showError(text string) {
	w.errLabel.SetText(text)
	w.errLabel.Show()
}

// Apply implements liveWindow; the prompt only notes whether a code
// would start or extend the session, for its confirmation.
func (w *CodeWindow) Apply(s state.Snapshot) { w.extending = s.Session.Active(s.Running) }

// AgentLost implements liveWindow.
func (w *CodeWindow) AgentLost() {}
