package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/state"
)

// QuitWindow asks before quitting ends a connected home-office session
// (screen Q1). The tray opens it: a tray menu cannot ask by itself, and a
// notification's buttons are missing on some desktops and easy to miss.
// "Cancel" has the focus, so Enter or Escape keeps everything as it was.
type QuitWindow struct {
	client  Client
	Window  fyne.Window
	cancel  *keyButton
	confirm *keyButton
	async   func(func())
	// closed: Escape, the agent's end and the answer may all close the
	// window; Fyne's test driver panics on a second Close. UI thread only.
	closed bool
}

// NewQuitWindow builds the question.
func NewQuitWindow(a fyne.App, c Client) *QuitWindow {
	w := &QuitWindow{client: c, Window: a.NewWindow(L("quit.title")), async: goAsync}
	keys := newWindowKeys(w.Window)
	keys.escape = w.close
	w.cancel = keys.newButton(L("quit.cancel"), nil, w.close)
	w.confirm = keys.newButton(L("quit.confirm"), nil, w.Confirm)
	w.confirm.Importance = widget.DangerImportance
	body := container.NewVBox(
		heading(L("quit.heading")),
		wrapped(L("quit.body")),
		container.NewHBox(w.cancel, w.confirm),
	)
	framed, _ := frame("Q1", body)
	w.Window.SetContent(framed)
	w.Window.Resize(fyne.NewSize(460, 240))
	w.Window.SetOnClosed(func() { w.closed = true })
	w.Window.Canvas().Focus(w.cancel)
	return w
}

// Confirm quits the agent, which ends the session on its way out, and
// closes the window.
func (w *QuitWindow) Confirm() {
	w.confirm.Disable()
	w.cancel.Disable()
	w.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := w.client.Quit(ctx)
		fyne.Do(func() {
			if err != nil {
				// The agent is gone or refused; nothing is left to ask.
				w.cancel.Enable()
				w.confirm.Enable()
			}
			w.close()
		})
	})
}

// Apply implements liveWindow: the question does not change.
func (w *QuitWindow) Apply(state.Snapshot) {}

// AgentLost implements liveWindow: without an agent there is nothing to quit.
func (w *QuitWindow) AgentLost() { w.close() }

func (w *QuitWindow) close() {
	if !w.closed {
		w.closed = true
		w.Window.Close()
	}
}
