package agent

import (
	"context"
	"errors"
	"image"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
)

// switchSession is a stand-in for the session controller: it publishes
// what a started or ended session would, through the same feed.
type switchSession struct{ *session.Feed }

func newSwitchSession() switchSession {
	return switchSession{session.NewFeed(session.Status{Phase: state.NotConnected})}
}

func (s switchSession) Start(context.Context, string) error {
	s.Set(session.Status{Phase: state.Connected, Running: true}, time.Now())
	s.Emit(session.Event{Kind: session.Started, At: time.Now()})
	return nil
}

func (s switchSession) End(context.Context) error {
	s.Set(session.Status{Phase: state.NotConnected}, time.Now())
	s.Emit(session.Event{Kind: session.Ended, At: time.Now()})
	return nil
}

// The tray follows state changes made through the local API: the icon,
// the state line, the tooltip and which of Start/End is offered.
func TestTrayFollowsStateFromLocalAPI(t *testing.T) {
	dbustest.PrivateBus(t)
	watcher := dbustest.StartWatcher(t)
	_, prof := testProfile(t)
	// The internet: a loopback host that answers, so that the headline
	// does not depend on whether this machine is online. The portal still
	// does not answer: Start is shown, greyed out, and the API starts.
	prof.InternetTargets = []string{loopbackHost(t)}
	socket := socketPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ks := keyring.NewMem()
	storeDevice(t, ks) // set up: a start is not refused
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, Tray: true, UIExe: uiBinary, StateDir: t.TempDir()},
		Deps:         Deps{Keyring: ks, Session: newSwitchSession()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	item, menu := trayMenu(t, ctx, watcher)
	if _, err := menu.WaitLayout(ctx, hasVisible("Homeoffice nicht verbunden", "Homeoffice starten")); err != nil {
		t.Fatalf("initial menu: %v", err)
	}
	before, err := item.IconPixmap(ctx)
	if err != nil {
		t.Fatalf("IconPixmap: %v", err)
	}

	c := localapi.NewClient(socket)
	if err := c.StartSession(ctx, "12345"); !isAPIError(err, "bad_code_format") {
		t.Errorf("StartSession with 5 digits = %v, want bad_code_format", err)
	}
	// Grouped as the app shows it: the agent normalises the code.
	if err := c.StartSession(ctx, "123 456"); err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	layout, err := menu.WaitLayout(ctx, hasVisible("Verbunden – alles in Ordnung", "Homeoffice beenden"))
	if err != nil {
		t.Fatalf("menu after start: %v", err)
	}
	if n, ok := layout.FindByLabel("Homeoffice starten"); ok && n.Visible {
		t.Error("Start is still offered while connected")
	}
	if _, err := item.WaitProperty(ctx, "ToolTip", func(v dbus.Variant) bool {
		title, _, _ := item.ToolTip(ctx)
		return title == "Dienstweg – Verbunden – alles in Ordnung"
	}); err != nil {
		t.Errorf("tooltip did not follow: %v", err)
	}
	after := waitIconChange(t, ctx, item, before)
	if samePixels(before, after) {
		t.Error("icon did not change from not connected to connected")
	}

	if err := c.EndSession(ctx); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	if _, err := menu.WaitLayout(ctx, hasVisible("Homeoffice nicht verbunden", "Homeoffice starten")); err != nil {
		t.Fatalf("menu after end: %v", err)
	}
	back := waitIconChange(t, ctx, item, after)
	if !samePixels(before, back) {
		t.Error("icon after End differs from the not-connected icon")
	}

	// The safe-mode entry is a checkbox that follows and sets the state.
	layout, err = menu.Layout(ctx)
	if err != nil {
		t.Fatalf("Layout: %v", err)
	}
	safe, ok := layout.FindByLabel("Bildschirm wird geteilt")
	if !ok || safe.ToggleType != "checkmark" || safe.ToggleState != 0 {
		t.Fatalf("safe mode entry = %+v (found %v)", safe, ok)
	}
	if err := menu.Click(ctx, safe.ID); err != nil {
		t.Fatalf("Click(safe mode): %v", err)
	}
	if _, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		m, ok := n.FindByLabel("Bildschirm wird geteilt")
		return ok && m.ToggleState == 1
	}); err != nil {
		t.Fatalf("safe mode not checked after click: %v", err)
	}
	if st, err := c.Status(ctx); err != nil || !st.SafeMode {
		t.Errorf("agent safe mode after click = %v, %v", st.SafeMode, err)
	}
}

// loopbackHost is the address of a TCP listener that accepts until the
// test ends.
func loopbackHost(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("Listen: %v", err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// trayMenu waits for the agent's tray item and returns it with its menu.
func trayMenu(tb testing.TB, ctx context.Context, watcher *dbustest.Watcher) (dbustest.Item, *dbustest.Menu) {
	tb.Helper()
	item, err := watcher.WaitItem(ctx)
	if err != nil {
		tb.Fatalf("WaitItem: %v", err)
	}
	menu, err := item.Menu(ctx)
	if err != nil {
		tb.Fatalf("Menu: %v", err)
	}
	return item, menu
}

func hasVisible(labels ...string) func(dbustest.MenuNode) bool {
	return func(n dbustest.MenuNode) bool {
		for _, l := range labels {
			if m, ok := n.FindByLabel(l); !ok || !m.Visible {
				return false
			}
		}
		return true
	}
}

// hasHidden: none of labels is a visible entry. The tray changes its
// entries one by one over D-Bus, so a test waits for the whole change
// (hasVisible and hasHidden together), not for its first part.
func hasHidden(labels ...string) func(dbustest.MenuNode) bool {
	return func(n dbustest.MenuNode) bool {
		for _, l := range labels {
			if m, ok := n.FindByLabel(l); ok && m.Visible {
				return false
			}
		}
		return true
	}
}

func isAPIError(err error, code string) bool {
	var e *localapi.Error
	return errors.As(err, &e) && e.Code == code
}

func waitIconChange(tb testing.TB, ctx context.Context, item dbustest.Item, old image.Image) image.Image {
	tb.Helper()
	for {
		img, err := item.IconPixmap(ctx)
		if err == nil && !samePixels(img, old) {
			return img
		}
		select {
		case <-ctx.Done():
			tb.Fatal("tray icon never changed")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// expiringSession ends the day's authorisation as the real one does when
// the portal says it is over.
type expiringSession struct{ switchSession }

func (s expiringSession) End(context.Context) error {
	s.Set(session.Status{Phase: state.CodeNeeded, Detail: &state.Message{Key: session.KeyExpired}}, time.Now())
	s.Emit(session.Event{Kind: session.Expired, At: time.Now()})
	return nil
}

// When the authorisation runs out the employee gets one desktop
// notification, on a real notification server over D-Bus.
func TestExpiryNotifiesOnce(t *testing.T) {
	dbustest.PrivateBus(t)
	server := dbustest.StartNotificationServer(t)
	_, prof := testProfile(t)
	socket := socketPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ks := keyring.NewMem()
	storeDevice(t, ks) // set up: a start is not refused
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, UIExe: uiBinary, StateDir: t.TempDir(), CacheDir: t.TempDir()},
		Deps:         Deps{Keyring: ks, Session: expiringSession{newSwitchSession()}},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	for i := 0; i < 2; i++ {
		if err := c.StartSession(ctx, "123456"); err != nil {
			t.Fatalf("StartSession: %v", err)
		}
		waitSession(t, ctx, c, state.Connected)
		if err := c.EndSession(ctx); err != nil {
			t.Fatalf("EndSession: %v", err)
		}
		waitSession(t, ctx, c, state.CodeNeeded)
		got, err := server.Wait(ctx, i+1)
		if err != nil {
			t.Fatalf("notification %d: %v", i+1, err)
		}
		if n := got[i]; n.AppName != "Dienstweg" || !strings.Contains(n.Body, "Freigabe für heute ist abgelaufen") {
			t.Errorf("notification = %+v", n)
		}
	}
	// Staying in the state sends nothing more.
	a.Store().Update(func(s *state.Snapshot) { s.SafeMode = !s.SafeMode })
	time.Sleep(300 * time.Millisecond)
	if n := len(server.Notifications()); n != 2 {
		t.Errorf("%d notifications for 2 expiries", n)
	}
}

func waitAPI(tb testing.TB, ctx context.Context, c *localapi.Client) {
	tb.Helper()
	for {
		if _, err := c.Status(ctx); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatal("agent API never came up")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
