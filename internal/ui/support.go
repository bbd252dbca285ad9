package ui

import (
	"context"
	"io"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/support"
)

// SupportClient is what the support window needs from the agent.
type SupportClient interface {
	Diagnostics(ctx context.Context, w io.Writer) error
}

// SupportWindow shows everything the helpdesk asks for (screen H1).
type SupportWindow struct {
	app    fyne.App
	client SupportClient
	Window fyne.Window

	code    *widget.Label
	grid    *fyne.Container
	status  *widget.Label
	save    *keyButton
	current state.Snapshot
	async   func(func())
	now     func() time.Time
}

// NewSupportWindow builds the window; Apply fills it.
func NewSupportWindow(a fyne.App, c SupportClient) *SupportWindow {
	w := &SupportWindow{app: a, client: c, Window: a.NewWindow(L("support.title")), async: goAsync, now: time.Now}
	// Monospace, so that no two symbols of the code look alike.
	w.code = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	w.code.SizeName = theme.SizeNameHeadingText
	w.grid = container.New(layout.NewFormLayout())
	w.status = wrapped("")
	w.status.Hide()
	keys := newWindowKeys(w.Window)
	copyBtn := keys.newButton(L("support.copy"), theme.ContentCopyIcon(), w.Copy)
	w.save = keys.newButton(L("support.save"), theme.DocumentSaveIcon(), w.SaveReport)
	w.save.Importance = widget.HighImportance
	body := container.NewVBox(
		heading(L("support.heading")),
		wrapped(L("support.intro")),
		container.NewHBox(widget.NewLabel(L("support.code")+":"), w.code),
		w.grid,
		w.status,
	)
	buttons := container.NewHBox(copyBtn, w.save, keys.newButton(L("status.close"), nil, w.Window.Close))
	framed, _ := frame("H1", container.NewBorder(nil, buttons, nil, nil, container.NewVScroll(body)))
	w.Window.SetContent(framed)
	w.Window.Resize(fyne.NewSize(620, openHeight))
	return w
}

func translate(key string, args map[string]string) string {
	if args == nil {
		return L(key)
	}
	return L(key, args)
}

// Apply shows a snapshot.
func (w *SupportWindow) Apply(s state.Snapshot) {
	w.current = s
	w.code.SetText(s.SupportCode)
	lines := support.Summary(s, translate, time.Local)
	var objs []fyne.CanvasObject
	for _, l := range lines[1:] { // the code has its own large line
		label := widget.NewLabelWithStyle(l.Label, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
		objs = append(objs, label, wrapped(l.Value))
	}
	w.grid.Objects = objs
	w.grid.Refresh()
}

// AgentLost implements liveWindow.
func (w *SupportWindow) AgentLost() {}

// Text is what "Kopieren" puts on the clipboard.
func (w *SupportWindow) Text() string {
	return support.Text(support.Summary(w.current, translate, time.Local))
}

// Copy puts the summary on the clipboard.
func (w *SupportWindow) Copy() {
	w.app.Clipboard().SetContent(w.Text())
	w.showStatus(L("support.copied"))
}

// SaveReport writes the diagnostics bundle to the desktop and says where.
func (w *SupportWindow) SaveReport() {
	path := support.ReportPath(w.now())
	w.save.Disable()
	w.showStatus(L("support.saving"))
	w.async(func() {
		err := atomicfile.Write(path, 0o644, func(f io.Writer) error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			return w.client.Diagnostics(ctx, f)
		})
		fyne.Do(func() {
			w.save.Enable()
			if err != nil {
				w.showStatus(L("support.save_failed", map[string]string{"Error": err.Error()}))
				return
			}
			w.showStatus(L("support.saved", map[string]string{"Path": path}))
		})
	})
}

func (w *SupportWindow) showStatus(text string) {
	w.status.SetText(text)
	w.status.Show()
}
