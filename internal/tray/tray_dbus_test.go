package tray

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// recordingNotifier keeps what the tray would show.
type recordingNotifier struct {
	mu  sync.Mutex
	got []announce.Notification
	ch  chan struct{}
}

func (n *recordingNotifier) Notify(_ context.Context, msg announce.Notification) error {
	n.mu.Lock()
	n.got = append(n.got, msg)
	n.mu.Unlock()
	n.ch <- struct{}{}
	return nil
}

// runTray shows a tray on a fresh private bus with a tray host and returns
// its item once it is registered. The tray ends with the test.
func runTray(t *testing.T, c *fakeClient, opts Options) (dbustest.Item, context.Context) {
	t.Helper()
	dbustest.PrivateBus(t)
	watcher := dbustest.StartWatcher(t)
	return runTrayOn(t, watcher, c, opts)
}

func runTrayOn(t *testing.T, watcher *dbustest.Watcher, c *fakeClient, opts Options) (dbustest.Item, context.Context) {
	t.Helper()
	if opts.Catalog == nil {
		cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, i18n.German)
		if err != nil {
			t.Fatal(err)
		}
		opts.Catalog = cat
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(runCtx, c, opts)
	}()
	t.Cleanup(func() {
		stop()
		<-done
		cancel()
	})
	item, err := watcher.WaitItem(ctx)
	if err != nil {
		t.Fatalf("WaitItem: %v", err)
	}
	return item, ctx
}

func trayPNG(t *testing.T, st string, p assets.Panel) *image.NRGBA {
	t.Helper()
	b, err := assets.TrayIcon(st, p, 32)
	if err != nil {
		t.Fatalf("TrayIcon: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	n, ok := img.(*image.NRGBA)
	if !ok {
		t.Fatalf("icon decodes to %T, want *image.NRGBA", img)
	}
	return n
}

// samePixels compares straight RGBA values exactly.
func samePixels(a image.Image, b *image.NRGBA) bool {
	na, ok := a.(*image.NRGBA)
	return ok && na.Bounds().Size() == b.Bounds().Size() && bytes.Equal(na.Pix, b.Pix)
}

// waitIcon waits up to 10 s for the item's icon to be want, and fails
// with a short account of the difference (the pixmap itself is long).
func waitIcon(ctx context.Context, t *testing.T, item dbustest.Item, want *image.NRGBA, what string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := item.WaitIconPixmap(wctx, func(img image.Image) bool { return samePixels(img, want) }); err == nil {
		return
	}
	got, err := item.IconPixmap(ctx)
	if err != nil {
		t.Fatalf("%s: IconPixmap: %v", what, err)
	}
	n, _ := got.(*image.NRGBA)
	if n == nil || n.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("%s: icon is %v, want %v", what, got.Bounds(), want.Bounds())
	}
	diff, first := 0, -1
	for i := range want.Pix {
		if n.Pix[i] != want.Pix[i] {
			diff++
			if first < 0 {
				first = i / 4 * 4
			}
		}
	}
	t.Fatalf("%s: %d bytes differ; first pixel at %d: got % x, want % x", what, diff, first/4, n.Pix[first:first+4], want.Pix[first:first+4])
}

// The panel gets exactly the PNG's pixels, anti-aliased edges included:
// the vendored systray used to send the low bytes of 16-bit premultiplied
// values, which showed as magenta, green and yellow fringes.
func TestIconPixmapIsThePNG(t *testing.T) {
	c := newFakeClient()
	item, ctx := runTray(t, c, Options{Panel: assets.PanelDark})
	c.snaps <- state.Snapshot{Session: state.Connected, TrayVisible: true}
	want := trayPNG(t, "connected", assets.PanelDark)
	edges := 0
	for i := 3; i < len(want.Pix); i += 4 {
		if a := want.Pix[i]; a > 0 && a < 255 {
			edges++
		}
	}
	if edges == 0 {
		t.Fatal("the icon has no semi-transparent pixel; the test would prove nothing")
	}
	waitIcon(ctx, t, item, want, "IconPixmap against the PNG")
}

// A left click opens the status window: the item says it is not only a
// menu (else hosts show the menu on a left click), and Activate, which
// hosts call on a left click, opens the window.
func TestLeftClickOpensStatus(t *testing.T) {
	c := newFakeClient()
	item, ctx := runTray(t, c, Options{Panel: assets.PanelDark})
	v, err := item.Property(ctx, "ItemIsMenu")
	if err != nil {
		t.Fatalf("ItemIsMenu: %v", err)
	}
	if isMenu, _ := v.Value().(bool); isMenu {
		t.Fatal("ItemIsMenu = true: a host shows the menu on a left click instead of calling Activate")
	}
	if err := item.Call(ctx, "Activate", int32(10), int32(10)); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	c.waitActions(ctx, t, func(opened []string, _ int) bool { return slices.Equal(opened, []string{localapi.WindowStatus}) })
}

// With --tray-panel auto the icon follows the desktop's colour scheme
// from the settings portal: no preference means the dark panel (Ubuntu's
// top bar, Windows 11's taskbar), so the light glyph; "prefer light"
// swaps in the dark glyph, live.
func TestPanelFollowsDesktop(t *testing.T) {
	t.Setenv("XDG_CURRENT_DESKTOP", "KDE")
	dbustest.PrivateBus(t)
	portal := dbustest.StartSettingsPortal(t, dbustest.NoPreference)
	watcher := dbustest.StartWatcher(t)
	c := newFakeClient()
	item, ctx := runTrayOn(t, watcher, c, Options{Panel: assets.PanelAuto})
	c.snaps <- state.Snapshot{Session: state.Connected, TrayVisible: true}

	for _, step := range []struct {
		name   string
		scheme uint32
		panel  assets.Panel
	}{
		{"no_preference", dbustest.NoPreference, assets.PanelDark},
		{"prefer_light", dbustest.PreferLight, assets.PanelLight},
		{"prefer_dark", dbustest.PreferDark, assets.PanelDark},
	} {
		if step.name != "no_preference" {
			if err := portal.SetColorScheme(step.scheme); err != nil {
				t.Fatalf("SetColorScheme: %v", err)
			}
		}
		waitIcon(ctx, t, item, trayPNG(t, "connected", step.panel), step.name+": the "+panelName(step.panel)+"-panel variant")
	}
}

// Quitting while connected asks first, in the quit window; otherwise it
// quits at once.
func TestQuitAsksWhileConnected(t *testing.T) {
	c := newFakeClient()
	item, ctx := runTray(t, c, Options{Panel: assets.PanelDark})
	menu, err := item.Menu(ctx)
	if err != nil {
		t.Fatalf("Menu: %v", err)
	}
	quit := func(sess state.Session, line string) {
		t.Helper()
		c.snaps <- state.Snapshot{Session: sess, TrayVisible: true}
		layout, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool { _, ok := n.FindByLabel(line); return ok })
		if err != nil {
			t.Fatalf("menu never showed %q: %v", line, err)
		}
		entry, _ := layout.FindByLabel("Dienstweg beenden")
		if err := menu.Click(ctx, entry.ID); err != nil {
			t.Fatalf("Click: %v", err)
		}
	}
	quit(state.Connected, "Verbunden – alles in Ordnung")
	c.waitActions(ctx, t, func(opened []string, quits int) bool {
		if quits != 0 {
			t.Fatalf("quit while connected without asking (opened %v)", opened)
		}
		return slices.Equal(opened, []string{localapi.WindowQuit})
	})
	quit(state.NotConnected, "Homeoffice nicht verbunden")
	c.waitActions(ctx, t, func(opened []string, quits int) bool { return quits == 1 && len(opened) == 1 })
}

// "Nach Updates suchen" runs the agent's check and tells its result in a
// notification; without self-update the entry is not shown.
func TestUpdateCheckTellsResult(t *testing.T) {
	c := newFakeClient()
	notes := &recordingNotifier{ch: make(chan struct{}, 4)}
	c.onCheckUpdate = func() {
		c.snaps <- state.Snapshot{Session: state.NotConnected, TrayVisible: true, Version: "1.4.0", Update: state.Update{State: "checking"}}
		c.snaps <- state.Snapshot{Session: state.NotConnected, TrayVisible: true, Version: "1.4.0", Update: state.Update{State: "up_to_date"}}
	}
	item, ctx := runTray(t, c, Options{Panel: assets.PanelDark, Notifier: notes})
	menu, err := item.Menu(ctx)
	if err != nil {
		t.Fatalf("Menu: %v", err)
	}
	c.snaps <- state.Snapshot{Session: state.NotConnected, TrayVisible: true, Version: "1.4.0", Update: state.Update{State: "off"}}
	if _, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		e, ok := n.FindByLabel("Nach Updates suchen")
		line, _ := n.FindByLabel("Homeoffice nicht verbunden")
		return ok && !e.Visible && line.Visible
	}); err != nil {
		t.Fatalf("entry still shown without self-update: %v", err)
	}
	c.snaps <- state.Snapshot{Session: state.NotConnected, TrayVisible: true, Version: "1.4.0", Update: state.Update{State: "idle"}}
	layout, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		e, ok := n.FindByLabel("Nach Updates suchen")
		return ok && e.Visible && e.Enabled
	})
	if err != nil {
		t.Fatalf("entry not shown: %v", err)
	}
	entry, _ := layout.FindByLabel("Nach Updates suchen")
	if err := menu.Click(ctx, entry.ID); err != nil {
		t.Fatalf("Click: %v", err)
	}
	select {
	case <-notes.ch:
	case <-ctx.Done():
		t.Fatal("no notification after the check")
	}
	notes.mu.Lock()
	got := notes.got[0]
	notes.mu.Unlock()
	if got.Title != "Dienstweg ist auf dem neuesten Stand" || got.Body != "Installierte Version: 1.4.0" {
		t.Errorf("notification = %q / %q", got.Title, got.Body)
	}
}
