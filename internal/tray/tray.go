package tray

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/systray"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/colorscheme"
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
	OpenDesktop(ctx context.Context, name string) (localapi.DesktopOpened, error)
}

// Options tunes the tray.
type Options struct {
	Catalog *i18n.Catalog
	// Panel selects icons for a light or dark panel. PanelAuto (the zero
	// value) follows the desktop's setting, see panelFor.
	Panel assets.Panel
	// IconSize in pixels; 0 means 32.
	IconSize int
	// Notifier shows the result of a check for updates that the employee
	// asked for; nil means desktop notifications over D-Bus.
	Notifier announce.Notifier
	Logger   *slog.Logger
}

type items struct {
	state, start, extend, end, announcements, status, help, setup, safeMode, update, quit *systray.MenuItem
	desktops                                                                              []*systray.MenuItem
}

// firstSchemeWait bounds how long the tray waits for the desktop's colour
// scheme before it shows itself; the settings portal may have to start.
const firstSchemeWait = 2 * time.Second

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
	if opts.Notifier == nil {
		opts.Notifier = announce.DBusNotifier{AppName: opts.Catalog.T("app.name")}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cat := opts.Catalog
	icon := &trayIcon{size: opts.IconSize, log: opts.Logger, cur: iconKey{state: "not_connected", panel: opts.Panel}}
	var schemes <-chan colorscheme.Scheme
	if opts.Panel == assets.PanelAuto {
		schemes = colorscheme.Watch(ctx, opts.Logger)
		icon.cur.panel = firstPanel(schemes, os.Getenv("XDG_CURRENT_DESKTOP"), opts.Logger)
	}
	// Title and a first icon go in before the item is exported, so the
	// panel never shows an empty square.
	systray.SetTitle(cat.T("app.name"))
	icon.update(func(*iconKey) {})
	// A left click on the icon opens the status window, as the README
	// promises. Set before the item is exported: ItemIsMenu is read
	// then, and a host that sees true shows the menu instead of calling
	// Activate.
	systray.SetOnTapped(func() {
		act(ctx, opts.Logger, "status", func(ctx context.Context) error { return c.OpenWindow(ctx, localapi.WindowStatus) })
	})
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
	it.extend = systray.AddMenuItem(cat.T("tray.extend"), "")
	it.extend.Hide()
	it.end = systray.AddMenuItem(cat.T("tray.end"), "")
	it.desktops = addDesktopItems()
	systray.AddSeparator()
	it.announcements = systray.AddMenuItem(cat.T("tray.announcements"), "")
	it.status = systray.AddMenuItem(cat.T("tray.status"), "")
	it.help = systray.AddMenuItem(cat.T("tray.help"), "")
	it.setup = systray.AddMenuItem(cat.T("tray.setup"), "")
	it.safeMode = systray.AddMenuItemCheckbox(cat.T("tray.safe_mode"), cat.T("tray.safe_mode_tip"), false)
	systray.AddSeparator()
	it.update = systray.AddMenuItem(cat.T("tray.check_updates"), "")
	it.quit = systray.AddMenuItem(cat.T("tray.quit"), "")

	t := &tray{c: c, it: it, opts: opts, icon: icon}
	if schemes != nil {
		go t.followPanel(ctx, schemes)
	}
	t.clicks(ctx)
	t.follow(ctx)
}

// firstPanel waits briefly for the desktop's first answer.
func firstPanel(schemes <-chan colorscheme.Scheme, desktop string, log *slog.Logger) assets.Panel {
	s := colorscheme.NoPreference
	select {
	case s = <-schemes:
	case <-time.After(firstSchemeWait):
		log.Info("the desktop's colour scheme is slow to answer; assuming a dark panel until it does")
	}
	p := panelFor(desktop, s)
	log.Info("tray icons", "panel", panelName(p), "color_scheme", s, "desktop", desktop)
	return p
}

// tray is one run's menu and what its handlers need to know.
type tray struct {
	c    Client
	it   items
	opts Options
	icon *trayIcon
	// sessionActive is the latest snapshot's, for "quit" to ask first.
	sessionActive atomic.Bool
	// shown is the model the menu shows, for clicks.
	shown   atomic.Pointer[Model]
	updates updateCheck
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
func (t *tray) follow(ctx context.Context) {
	var last Model
	first := true
	localapi.Follower[localapi.Event]{
		Open: func(ctx context.Context) (<-chan localapi.Event, error) { return t.c.Watch(ctx, "") },
		Handle: func(ev localapi.Event) bool {
			if ev.Type == localapi.EventState && ev.State != nil {
				// What the clicks read is stored before the menu shows
				// the state, so a click on what is shown sees it.
				t.sessionActive.Store(ev.State.Session.Active(ev.State.Running))
				if n, ok := t.updates.see(*ev.State, t.opts.Catalog); ok {
					go t.notify(ctx, n)
				}
				m := ModelFor(*ev.State, t.opts.Catalog)
				t.shown.Store(&m)
				t.apply(m, last, first)
				last, first = m, false
			}
			return true
		},
		Logger: t.opts.Logger.With("component", "tray"),
	}.Run(ctx)
}

// followPanel swaps the icons when the desktop's colour scheme changes.
func (t *tray) followPanel(ctx context.Context, schemes <-chan colorscheme.Scheme) {
	desktop := os.Getenv("XDG_CURRENT_DESKTOP")
	for s := range schemes {
		p := panelFor(desktop, s)
		t.icon.update(func(k *iconKey) {
			if k.panel != p {
				t.opts.Logger.Info("tray icons follow the desktop", "panel", panelName(p), "color_scheme", s)
			}
			k.panel = p
		})
	}
}

func (t *tray) apply(m, last Model, force bool) {
	it := t.it
	t.icon.update(func(k *iconKey) { k.state, k.badge = m.Icon, m.Badge })
	if force || m.Tooltip != last.Tooltip {
		systray.SetTooltip(m.Tooltip)
	}
	if force || m.StateLine != last.StateLine {
		it.state.SetTitle(m.StateLine)
	}
	showIf(it.start, m.ShowStart)
	enableIf(it.start, m.StartEnabled)
	showIf(it.extend, m.ShowExtend)
	showIf(it.end, m.ShowEnd)
	t.applyDesktops(m, last, force)
	for _, item := range []*systray.MenuItem{it.announcements, it.help, it.setup, it.safeMode} {
		showIf(item, !m.NoProfile)
	}
	showIf(it.update, m.ShowUpdate)
	if force || m.Announcements != last.Announcements {
		it.announcements.SetTitle(m.Announcements)
	}
	if m.SafeMode {
		it.safeMode.Check()
	} else {
		it.safeMode.Uncheck()
	}
	enableIf(it.safeMode, !m.SafeModeLocked)
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
func (t *tray) clicks(ctx context.Context) {
	c, it := t.c, t.it
	open := func(w string) func(context.Context) error {
		return func(ctx context.Context) error { return c.OpenWindow(ctx, w) }
	}
	start := func(ctx context.Context) error {
		w := localapi.WindowCode
		if m := t.shown.Load(); m != nil {
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
		{it.extend, "extend", open(localapi.WindowCode)},
		{it.end, "end", c.EndSession},
		{it.announcements, "announcements", open(localapi.WindowAnnouncements)},
		{it.status, "status", open(localapi.WindowStatus)},
		{it.help, "help", open(localapi.WindowSupport)},
		{it.setup, "setup", open(localapi.WindowWizard)},
		{it.safeMode, "safe_mode", func(ctx context.Context) error { return c.SetSafeMode(ctx, !it.safeMode.Checked()) }},
		{it.update, "update", t.checkUpdate},
		{it.quit, "quit", t.quit},
	}
	for i, item := range it.desktops {
		handlers = append(handlers, struct {
			item   *systray.MenuItem
			name   string
			action func(context.Context) error
		}{item, "open_desktop", t.openDesktop(i)})
	}
	for _, h := range handlers {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-h.item.ClickedCh:
					go act(ctx, t.opts.Logger, h.name, h.action)
				}
			}
		}()
	}
}

// quit ends the agent, but asks first while home office is connected:
// quitting ends the session, and the clerk may only have meant to close a
// menu. The tray cannot show a question itself, so a small window does.
func (t *tray) quit(ctx context.Context) error {
	if t.sessionActive.Load() {
		return t.c.OpenWindow(ctx, localapi.WindowQuit)
	}
	return t.c.Quit(ctx)
}

// checkUpdate starts a check and lets follow tell its result: the menu
// closes on the click, so a changed entry alone would go unseen.
func (t *tray) checkUpdate(ctx context.Context) error {
	t.updates.ask()
	if err := t.c.CheckUpdate(ctx); err != nil {
		t.updates.cancel()
		cat := t.opts.Catalog
		t.notify(ctx, announce.Notification{ID: "update-check", Severity: announce.SeverityInfo,
			Title: cat.T("update.state.error"), Body: cat.T("update.error.check_failed")})
		return err
	}
	return nil
}

func (t *tray) notify(ctx context.Context, n announce.Notification) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := t.opts.Notifier.Notify(ctx, n); err != nil {
		t.opts.Logger.Warn("cannot show a notification", "id", n.ID, "err", err)
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

// iconKey is everything the tray icon depends on.
type iconKey struct {
	state string
	badge bool
	panel assets.Panel
}

// trayIcon owns the icon: the state loop and the panel loop both change
// it, and each change renders it once.
type trayIcon struct {
	size int
	log  *slog.Logger

	mu    sync.Mutex
	cur   iconKey
	shown bool
}

func (ti *trayIcon) update(change func(*iconKey)) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	next := ti.cur
	change(&next)
	if ti.shown && next == ti.cur {
		return
	}
	b, err := assets.TrayIcon(next.state, next.panel, ti.size)
	if err == nil && next.badge {
		b, err = assets.WithBadge(b)
	}
	if err != nil {
		ti.log.Error("tray icon", "state", next.state, "panel", int(next.panel), "err", err)
		return
	}
	systray.SetIcon(b)
	ti.cur, ti.shown = next, true
}
