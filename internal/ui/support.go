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

	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/support"
)

// SupportClient is what the support window needs from the agent.
type SupportClient interface {
	Diagnostics(ctx context.Context, w io.Writer) error
	// SendReport sends this device's state to the IT service through the
	// portal and returns when the portal received it.
	SendReport(ctx context.Context) (time.Time, error)
}

// SupportWindow shows everything the helpdesk asks for (screen H1).
type SupportWindow struct {
	app    fyne.App
	client SupportClient
	Window fyne.Window

	code     *widget.Label
	helpdesk *widget.Label
	grid     *fyne.Container
	status   *widget.Label
	copyBtn  *keyButton
	save     *keyButton
	send     *keyButton
	// later runs f after d on the UI thread; tests run it at once.
	later   func(d time.Duration, f func())
	current state.Snapshot
	async   func(func())
	now     func() time.Time
}

// SupportSize is the window's size when it opens: it fits a 1366×768
// screen at 125 % scale: 614 px of height, less a panel and a title bar
// leave about 540.
var SupportSize = fyne.NewSize(600, 520)

// NewSupportWindow builds the window; Apply fills it.
func NewSupportWindow(a fyne.App, c SupportClient) *SupportWindow {
	w := &SupportWindow{app: a, client: c, Window: a.NewWindow(L("support.title")), async: goAsync, now: time.Now, later: afterOnUI}
	// Monospace, so that no two symbols of the code look alike.
	w.code = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	w.code.SizeName = theme.SizeNameHeadingText
	w.grid = container.New(layout.NewFormLayout())
	w.helpdesk = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.helpdesk.Wrapping = fyne.TextWrapWord
	w.status = wrapped("")
	w.status.Hide()
	keys := newWindowKeys(w.Window)
	w.copyBtn = keys.newButton(L("support.copy"), theme.ContentCopyIcon(), w.Copy)
	w.save = keys.newButton(L("support.save"), theme.DocumentSaveIcon(), w.SaveReport)
	w.save.Importance = widget.HighImportance
	w.send = keys.newButton(L("support.send"), theme.MailSendIcon(), w.SendReport)
	// What the helpdesk asks first (the code), how to reach it, and what
	// the last button did stay in view; only the details scroll (issue
	// 15, #7: the phone number and "Gespeichert: …" were below the fold).
	top := container.NewVBox(
		heading(L("support.heading")),
		wrapped(L("support.intro")),
		container.NewHBox(widget.NewLabel(L("support.code")+":"), w.code),
		w.helpdesk,
		// Beside the phone number: what the IT service will ask for.
		container.NewHBox(w.send),
		widget.NewSeparator(),
	)
	buttons := container.NewHBox(w.copyBtn, w.save, keys.newButton(L("status.close"), nil, w.Window.Close))
	bottom := container.NewVBox(w.status, buttons)
	framed, _ := frame("H1", container.NewBorder(top, bottom, nil, nil, container.NewVScroll(w.grid)))
	w.Window.SetContent(framed)
	w.Window.Resize(SupportSize)
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
	help := support.HelpdeskLine(s, translate)
	w.helpdesk.SetText(help.Label + ": " + help.Value)
	var objs []fyne.CanvasObject
	for _, l := range lines[1:] { // the code has its own large line
		if l == help {
			continue // shown at the top
		}
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
	// The button itself says "Copied" for a moment, where the eye is.
	w.copyBtn.SetText(L("support.copied_short"))
	w.copyBtn.SetIcon(theme.ConfirmIcon())
	w.later(confirmFor, func() {
		w.copyBtn.SetText(L("support.copy"))
		w.copyBtn.SetIcon(theme.ContentCopyIcon())
	})
}

// SaveReport writes the diagnostics bundle to the desktop and says where.
func (w *SupportWindow) SaveReport() {
	path := support.ReportPath(w.now())
	w.save.Disable()
	w.showStatus(L("support.saving"))
	w.async(func() {
		err := support.SaveReport(path, func(f io.Writer) error {
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

// SendReport sends this device's state to the IT service, only now that
// the employee asked, and says when it arrived or why not.
func (w *SupportWindow) SendReport() {
	w.send.Disable()
	w.showStatus(L("support.sending"))
	w.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		at, err := w.client.SendReport(ctx)
		fyne.Do(func() {
			w.send.Enable()
			if err != nil {
				w.showStatus(errorText(err))
				return
			}
			w.showStatus(L("support.sent", map[string]string{"Time": at.In(time.Local).Format("15:04")}))
		})
	})
}

func (w *SupportWindow) showStatus(text string) {
	w.status.SetText(text)
	w.status.Show()
	// The border around the details gives the line its room.
	w.Window.Content().Refresh()
}
