// Package ui holds every window of Dienstweg. It is the only package that
// imports Fyne. A ui process renders what the agent's local API streams to
// it and sends the employee's actions back; it keeps no state of its own.
package ui

import (
	"context"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Client is the part of the local API the windows use; declared here, at
// its consumer. *localapi.Client implements it. Safe for concurrent use.
type Client interface {
	Watch(ctx context.Context, window string) (<-chan localapi.Event, error)
	StartSession(ctx context.Context, code string) error
	EndSession(ctx context.Context) error
	OpenWindow(ctx context.Context, window string) error
	ChooseUpdate(ctx context.Context, choice string) error
	Quit(ctx context.Context) error
	SupportClient
	SettingsClient
	WizardClient
	AnnouncementsClient
	DesktopClient
}

// goAsync runs f on its own goroutine; windows use it for calls to the
// agent so the UI thread never waits on the socket. Tests replace it:
// Fyne's test driver has no UI thread of its own to hand results to.
var goAsync = func(f func()) { go f() }

// AppID is the application's reverse-DNS id (FyneApp.toml has the same).
const AppID = "de.dienstweg.client"

// SetLanguage makes Fyne's lang package use lang ("de" or "en") and loads
// the shared translation files. Call it before building any window.
func SetLanguage(l string) error {
	// The agent starts windows with this environment already
	// (i18n.WindowEnv); a window started by hand gets it here.
	for _, kv := range i18n.WindowEnv(os.Environ(), l) {
		if k, v, ok := strings.Cut(kv, "="); ok && os.Getenv(k) != v {
			os.Setenv(k, v)
		}
	}
	return lang.AddTranslationsFS(assets.Translations, assets.TranslationsDir)
}

// L translates a key with optional arguments.
func L(key string, args ...map[string]string) string {
	if key == "" {
		return "" // a view without that text, not a missing translation
	}
	if len(args) == 0 {
		return lang.L(key)
	}
	return lang.L(key, args[0])
}

// ML renders a state.Message.
func ML(m *state.Message) string {
	if m == nil || m.Key == "" {
		return ""
	}
	if len(m.Args) == 0 {
		return lang.L(m.Key)
	}
	return lang.L(m.Key, m.Args)
}

// errorText turns an API error into a sentence for the employee.
func errorText(err error) string {
	if e, ok := err.(*localapi.Error); ok && e.Key != "" {
		return ML(&state.Message{Key: e.Key, Args: e.Args})
	}
	return L("action.failed", map[string]string{"Error": err.Error()})
}

// openHeight is the tallest a window opens, in Fyne units: 675 px at
// 125 %, which with a title bar fits a 1366×768 laptop screen above a
// panel. Windows whose content is longer scroll.
const openHeight = 540

// frame puts content above a footer with the screen code in the
// bottom-left corner, which a helpdesk can ask for on the phone.
func frame(screenCode string, content fyne.CanvasObject) (fyne.CanvasObject, *widget.Label) {
	code := widget.NewLabelWithStyle(L("window.screen_code", map[string]string{"Code": screenCode}), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	code.Importance = widget.LowImportance
	footer := container.NewHBox(code)
	return container.NewBorder(nil, footer, nil, nil, container.NewPadded(content)), code
}

// heading is a large bold title.
func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameSubHeadingText
	l.Wrapping = fyne.TextWrapWord
	return l
}

// wrapped is a word-wrapping body label.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// stateIcon is the tray icon of a state, large, for the windows.
func stateIcon(s state.Session, dark bool) *canvas.Image {
	panel := assets.PanelLight
	if dark {
		panel = assets.PanelDark
	}
	img := canvas.NewImageFromResource(nil)
	if b, err := assets.TrayIcon(s.String(), panel, 48); err == nil {
		img.Resource = fyne.NewStaticResource("state-"+s.String()+".png", b)
	}
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(48, 48))
	return img
}

func isDark(a fyne.App) bool {
	return a.Settings().ThemeVariant() == theme.VariantDark
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// notice is a highlighted box with an icon, a bold title and a text, for
// things the employee should notice but that are not errors.
func notice(icon fyne.Resource, title, text string) *fyne.Container {
	head := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(head)
	if text != "" {
		body.Add(wrapped(text))
	}
	return noticeOf(icon, body)
}

// noticeOf frames body as a notice, for one whose text changes.
func noticeOf(icon fyne.Resource, body fyne.CanvasObject) *fyne.Container {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.CornerRadius = theme.Size(theme.SizeNameInputRadius)
	return container.NewStack(bg, container.NewPadded(container.NewBorder(nil, nil, container.NewVBox(widget.NewIcon(icon)), nil, body)))
}
