//go:build linux

package agent

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// officeSwitch is the office host on loopback: while in is set it
// completes TLS handshakes with the organisation's certificate; while not,
// it closes every connection at once, as a network without it would.
type officeSwitch struct {
	in   atomic.Bool
	addr string
}

func startOfficeSwitch(t *testing.T, cfg *tls.Config) *officeSwitch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	s := &officeSwitch{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !s.in.Load() {
				c.Close()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				tc := tls.Server(c, cfg)
				defer tc.Close()
				_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = tc.Read(make([]byte, 1))
			}()
		}
	}()
	return s
}

// The in-office check through the whole agent, with the real tray on a
// private D-Bus: in the office the tray says so and offers no start, and
// a start through the local API is refused; after leaving, the tray is
// as before. A session that runs when the office is found again is not
// ended: the tray still offers to end it, and the advice says it is not
// needed here.
func TestTrayInOffice(t *testing.T) {
	dbustest.PrivateBus(t)
	watcher := dbustest.StartWatcher(t)
	_, prof := testProfile(t)
	org, err := portalsrv.LoadOrCreateTLS(t.TempDir(), []string{officeHost}, time.Now())
	if err != nil {
		t.Fatalf("organisation CA: %v", err)
	}
	prof.PortalCA = string(org.CAPEM)
	prof.InternetTargets = []string{loopbackHost(t)}
	office := startOfficeSwitch(t, org.Config())
	office.in.Store(true)
	prof.OfficeCheck = &profile.OfficeCheck{Address: office.addr, ServerName: officeHost}
	socket := socketPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	ks := keyring.NewMem()
	storeDevice(t, ks)
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
	_, menu := trayMenu(t, ctx, watcher)
	startHidden := func(n dbustest.MenuNode) bool {
		m, ok := n.FindByLabel("Homeoffice starten")
		return !ok || !m.Visible
	}
	if _, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		return hasVisible("Sie sind im Büro")(n) && startHidden(n)
	}); err != nil {
		t.Fatalf("menu in the office: %v", err)
	}
	c := localapi.NewClient(socket)
	if err := c.StartSession(ctx, "123456"); !isAPIError(err, situation.InOffice) {
		t.Errorf("StartSession in the office = %v, want in_office", err)
	}

	// Leaving: the network changes, the office host is not there.
	office.in.Store(false)
	a.networkChanged()
	if _, err := menu.WaitLayout(ctx, hasVisible("Homeoffice nicht verbunden", "Homeoffice starten")); err != nil {
		t.Fatalf("menu after leaving the office: %v", err)
	}
	if err := c.StartSession(ctx, "123456"); err != nil {
		t.Fatalf("StartSession at home: %v", err)
	}
	if _, err := menu.WaitLayout(ctx, hasVisible("Verbunden – alles in Ordnung", "Homeoffice beenden")); err != nil {
		t.Fatalf("menu after start: %v", err)
	}

	// Back in the office with the session running: it keeps running.
	office.in.Store(true)
	a.networkChanged()
	waitSnapshot(t, ctx, a, "the office found while a session runs", func(s state.Snapshot) bool {
		return s.Office.InOffice && s.Verdict.Advice.Key == situation.KeyInOfficeSessionAdvice
	})
	if _, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		return hasVisible("Verbunden – alles in Ordnung", "Homeoffice beenden")(n) && startHidden(n)
	}); err != nil {
		t.Fatalf("menu in the office with a session: %v", err)
	}
	if s := a.Snapshot(); s.Session != state.Connected {
		t.Errorf("session %v after the office was found, want it still connected", s.Session)
	}
}

// waitSnapshot waits (generously) for a snapshot that ok accepts.
func waitSnapshot(t *testing.T, ctx context.Context, a *Agent, what string, ok func(state.Snapshot) bool) state.Snapshot {
	t.Helper()
	snaps, stop := a.Subscribe()
	defer stop()
	for {
		select {
		case s := <-snaps:
			if ok(s) {
				return s
			}
		case <-ctx.Done():
			t.Fatalf("%s: never seen; last %+v", what, a.Snapshot().Verdict)
		}
	}
}
