package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/state"
)

// PlaceholderWindow stands in for a window whose feature has not landed
// yet, so every tray entry opens something that explains itself.
type PlaceholderWindow struct {
	Window fyne.Window
}

// NewPlaceholderWindow builds a window with a title key and screen code.
func NewPlaceholderWindow(a fyne.App, titleKey, screenCode string) *PlaceholderWindow {
	w := &PlaceholderWindow{Window: a.NewWindow(L("app.name") + " – " + L(titleKey))}
	body := container.NewVBox(heading(L(titleKey)), wrapped(L("placeholder.coming")),
		widget.NewButton(L("status.close"), func() { w.Window.Close() }))
	framed, _ := frame(screenCode, body)
	w.Window.SetContent(framed)
	w.Window.Resize(fyne.NewSize(460, 260))
	return w
}

// Apply implements liveWindow.
func (w *PlaceholderWindow) Apply(state.Snapshot) {}

// AgentLost implements liveWindow.
func (w *PlaceholderWindow) AgentLost() {}
