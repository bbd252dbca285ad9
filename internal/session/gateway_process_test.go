package session_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// TestGatewayProcess is the gateway in a process of its own, so a test
// can kill it and freeze it as an outage does.
func TestGatewayProcess(t *testing.T) { gatewaytest.ProcessMain(t) }

// wgEvents records what the client's wireguard-go and tunnel log: when it
// sent handshake initiations, and how often a device was brought up.
type wgEvents struct {
	mu    sync.Mutex
	sent  []time.Time
	upped int
}

func (w *wgEvents) Enabled(context.Context, slog.Level) bool { return true }
func (w *wgEvents) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *wgEvents) WithGroup(string) slog.Handler            { return w }
func (w *wgEvents) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case strings.Contains(r.Message, "Sending handshake initiation"):
		w.sent = append(w.sent, time.Now())
	case r.Message == "tunnel up":
		w.upped++
	}
	return nil
}

// closest is the shortest gap between two initiations sent.
func (w *wgEvents) closest() (time.Duration, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	gap := time.Duration(1<<63 - 1)
	for i := 1; i < len(w.sent); i++ {
		gap = min(gap, w.sent[i].Sub(w.sent[i-1]))
	}
	return gap, len(w.sent)
}

// floodWindow is wireguard-go's HandshakeInitationRate: a gateway drops
// the second initiation of a peer within it.
const floodWindow = time.Second / 50

// waitRenewed waits (generously, not as a timing assertion) until the
// session is Connected on a handshake completed after since.
func waitRenewed(tb testing.TB, c *session.Controller, e *tunnel.Userspace, since time.Time) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st, err := e.Stats()
		if err == nil && st.LastHandshake.After(since) {
			if s := c.Status(); s.Phase == state.Connected && !s.Reconnecting {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("session never renewed: %+v", c.Status())
}

// waitStatus waits (generously) for a status that ok accepts.
func waitStatus(tb testing.TB, c *session.Controller, ok func(session.Status) bool) {
	tb.Helper()
	ch, cancel := c.Subscribe()
	defer cancel()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case s := <-ch:
			if ok(s) {
				return
			}
		case <-deadline:
			tb.Fatalf("status never came: %+v", c.Status())
		}
	}
}

// The gateway process is killed and started again with the same key, and
// frozen and thawed, while a session runs. The session comes back each
// time on the device it has (one tunnel up in all), never sends two
// initiations within the gateway's flood window, and after a restart the
// new gateway's first initiation is the one that brings it back: no
// initiation dropped, none repeated after a rekey timeout.
func TestGatewayRestartAndFreeze(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	o := gatewaytest.Start(t, gatewaytest.Options{Portal: portaltest.Options{}})
	d := o.Enroll(t, "anna")
	ctx := context.Background()
	if _, err := d.Client.EndSession(ctx); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	child := o.ProcessConfig(d)
	o.StopGateway()
	gw := gatewaytest.StartProcess(t, "^TestGatewayProcess$", child)

	events := &wgEvents{}
	e := tunnel.NewUserspace(tunnel.UserspaceOptions{Logger: slog.New(events)})
	t.Cleanup(func() { e.Down() })
	c, err := session.New(session.Options{
		Portal:   o.Portal.Client(t, nil),
		Keys:     session.StaticKeys{Private: d.PrivateKey, Cred: d.Credential},
		Engine:   e,
		CheckURL: gatewaytest.IntranetURL,
		Now:      o.Portal.Clock.Now,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Start(ctx, d.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}

	for i := range 3 {
		gw.Kill()
		gw = gatewaytest.StartProcess(t, "^TestGatewayProcess$", child)
		lost := time.Now()
		c.Signal(session.GatewayLost) // health's verdict, a few seconds later in life
		waitRenewed(t, c, e, lost)
		// The log line may trail the handshake by a moment.
		for a, _ := gw.Initiations(); a == 0; a, _ = gw.Initiations() {
			time.Sleep(10 * time.Millisecond)
		}
		if a, r := gw.Initiations(); a != 1 || r != 0 {
			t.Errorf("restart %d: the new gateway accepted %d initiations and dropped %d; want the first accepted and none dropped", i, a, r)
		}
	}

	for range 3 {
		if err := gw.Freeze(); err != nil {
			t.Fatalf("Freeze: %v", err)
		}
		c.Signal(session.GatewayLost)
		// Frozen long enough for the session to show the problem.
		waitStatus(t, c, func(s session.Status) bool { return s.Phase == state.Problem && s.Reconnecting })
		thawed := time.Now()
		if err := gw.Thaw(); err != nil {
			t.Fatalf("Thaw: %v", err)
		}
		waitRenewed(t, c, e, thawed)
	}

	gap, n := events.closest()
	if gap < floodWindow {
		t.Errorf("two of %d initiations went out %v apart, within the gateway's flood window %v", n, gap, floodWindow)
	}
	events.mu.Lock()
	upped := events.upped
	events.mu.Unlock()
	if upped != 1 {
		t.Errorf("tunnel brought up %d times; reconnecting must renew the handshake on the device it has", upped)
	}
}
