package tray

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"fyne.io/systray"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
)

// Client is the part of the local API the tray uses. The tray talks to the
// agent through the same API as every window, so it could move into its
// own process unchanged. Implementations must be safe for concurrent use.
type Client interface {
	Watch(ctx context.Context, window string) (<-chan localapi.Event, error)
	OpenWindow(ctx context.Context, window string) error
	EndSession(ctx context.Context) error
	CheckUpdate(ctx context.Context) error
	SetSafeMode(ctx context.Context, on bool) error
	Quit(ctx context.Context) error
}

// Options tunes the tray.
type Options struct {
	Catalog *i18n.Catalog
	// Panel selects icons for a light or dark panel.
	Panel assets.Panel
	// IconSize in pixels; 0 means 32.
	IconSize int
	Logger   *slog.Logger
}

type items struct {
	state, start, end, announcements, status, help, setup, safeMode, update, quit *systray.MenuItem
}

// Run shows the tray until ctx ends. fyne.io/systray keeps global state,
// so runs must not overlap; one after the other is fine (the vendored copy
// is patched for that, see third_party/fyne-systray/DIENSTWEG.md).
func Run(ctx context.Context, c Client, opts Options) {
	if opts.IconSize == 0 {
		opts.IconSize = 32
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cat := opts.Catalog
	// Title and a first icon go in before the item is exported, so the
	// panel never shows an empty square.
	systray.SetTitle(cat.T("app.name"))
	if icon, err := assets.TrayIcon("not_connected", opts.Panel, opts.IconSize); err == nil {
		systray.SetIcon(icon)
	}
	ready := make(chan struct{})
	start, end := systray.RunWithExternalLoop(func() { close(ready) }, nil)
	start() // returns once the item and its menu are on the bus
	defer end()
	<-ready

	it := items{}
	it.state = systray.AddMenuItem("", "")
	it.state.Disable()
	systray.AddSeparator()
	it.start = systray.AddMenuItem(cat.T("tray.start"), "")
	it.end = systray.AddMenuItem(cat.T("tray.end"), "")
	systray.AddSeparator()
	it.announcements = systray.AddMenuItem(cat.T("tray.announcements"), "")
	it.status = systray.AddMenuItem(cat.T("tray.status"), "")
	it.help = systray.AddMenuItem(cat.T("tray.help"), "")
	it.setup = systray.AddMenuItem(cat.T("tray.setup"), "")
	it.safeMode = systray.AddMenuItemCheckbox(cat.T("tray.safe_mode"), cat.T("tray.safe_mode_tip"), false)
	systray.AddSeparator()
	it.update = systray.AddMenuItem(cat.T("tray.check_updates"), "")
	it.quit = systray.AddMenuItem(cat.T("tray.quit"), "")
	// A left click on the icon opens the status window, as users expect.
	systray.SetOnTapped(func() {
		act(ctx, opts.Logger, "status", func(ctx context.Context) error { return c.OpenWindow(ctx, localapi.WindowStatus) })
	})

	var shown atomic.Pointer[Model] // the model the menu shows, for clicks
	clicks(ctx, c, it, &shown, opts.Logger)
	follow(ctx, c, it, &shown, opts)
}

// StartWindow is the window "Start home office" opens in m: the code
// prompt, or the setup wizard on a computer that is not set up yet.
func StartWindow(m Model) string {
	if m.StartWizard {
		return localapi.WindowWizard
	}
	return localapi.WindowCode
}

// follow applies every state change to the tray until ctx ends,
// reconnecting to the API with backoff if the stream breaks.
func follow(ctx context.Context, c Client, it items, shown *atomic.Pointer[Model], opts Options) {
	var last Model
	first := true
	localapi.Follower[localapi.Event]{
		Open: func(ctx context.Context) (<-chan localapi.Event, error) { return c.Watch(ctx, "") },
		Handle: func(ev localapi.Event) bool {
			if ev.Type == localapi.EventState && ev.State != nil {
				m := ModelFor(*ev.State, opts.Catalog)
				apply(it, m, last, first, opts)
				last, first = m, false
				shown.Store(&m)
			}
			return true
		},
		Logger: opts.Logger.With("component", "tray"),
	}.Run(ctx)
}

func apply(it items, m, last Model, force bool, opts Options) {
	if force || m.Icon != last.Icon || m.Badge != last.Badge {
		icon, err := assets.TrayIcon(m.Icon, opts.Panel, opts.IconSize)
		if err == nil && m.Badge {
			icon, err = assets.WithBadge(icon)
		}
		if err != nil {
			opts.Logger.Error("tray icon", "state", m.Icon, "err", err)
		} else {
			systray.SetIcon(icon)
		}
	}
	if force || m.Tooltip != last.Tooltip {
		systray.SetTooltip(m.Tooltip)
	}
	if force || m.StateLine != last.StateLine {
		it.state.SetTitle(m.StateLine)
	}
	showIf(it.start, m.ShowStart)
	enableIf(it.start, m.StartEnabled)
	showIf(it.end, m.ShowEnd)
	for _, item := range []*systray.MenuItem{it.announcements, it.help, it.setup, it.safeMode, it.update} {
		showIf(item, !m.NoProfile)
	}
	if force || m.Announcements != last.Announcements {
		it.announcements.SetTitle(m.Announcements)
	}
	if m.SafeMode {
		it.safeMode.Check()
	} else {
		it.safeMode.Uncheck()
	}
	if force || m.UpdateLabel != last.UpdateLabel {
		it.update.SetTitle(m.UpdateLabel)
	}
	enableIf(it.update, m.UpdateEnabled)
}

func enableIf(item *systray.MenuItem, enabled bool) {
	if enabled {
		item.Enable()
	} else {
		item.Disable()
	}
}

func showIf(item *systray.MenuItem, show bool) {
	if show {
		item.Show()
	} else {
		item.Hide()
	}
}

// clicks waits on every item's channel in its own goroutine: systray
// drops a click when nobody is receiving at that moment.
func clicks(ctx context.Context, c Client, it items, shown *atomic.Pointer[Model], log *slog.Logger) {
	open := func(w string) func(context.Context) error {
		return func(ctx context.Context) error { return c.OpenWindow(ctx, w) }
	}
	start := func(ctx context.Context) error {
		w := localapi.WindowCode
		if m := shown.Load(); m != nil {
			w = StartWindow(*m)
		}
		return c.OpenWindow(ctx, w)
	}
	handlers := []struct {
		item   *systray.MenuItem
		name   string
		action func(context.Context) error
	}{
		{it.start, "start", start},
		{it.end, "end", c.EndSession},
		{it.announcements, "announcements", open(localapi.WindowAnnouncements)},
		{it.status, "status", open(localapi.WindowStatus)},
		{it.help, "help", open(localapi.WindowSupport)},
		{it.setup, "setup", open(localapi.WindowWizard)},
		{it.safeMode, "safe_mode", func(ctx context.Context) error { return c.SetSafeMode(ctx, !it.safeMode.Checked()) }},
		{it.update, "update", c.CheckUpdate},
		{it.quit, "quit", c.Quit},
	}
	for _, h := range handlers {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-h.item.ClickedCh:
					go act(ctx, log, h.name, h.action)
				}
			}
		}()
	}
}

// act runs a menu action without blocking the click loop for long; a
// failure is logged (the agent reports user-facing errors in its state).
func act(ctx context.Context, log *slog.Logger, name string, f func(context.Context) error) {
	// Not cancelled by shutdown: "Quit" itself starts one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		log.Warn("tray action failed", "action", name, "err", err)
	}
}
