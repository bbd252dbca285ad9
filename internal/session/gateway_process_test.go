package session_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/gateway"
	"github.com/dienstweg/dienstweg/internal/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/portalsrv"
	"github.com/dienstweg/dienstweg/internal/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// gatewayChildEnv carries a gatewayChild to TestGatewayProcess.
const gatewayChildEnv = "DIENSTWEG_TEST_GATEWAY_CHILD"

// gatewayChild is what a gateway process needs: the office's key and
// port, and the one device it admits.
type gatewayChild struct {
	Key     string
	Port    int
	Peer    string
	Address netip.Prefix
}

type staticPeers []portalsrv.Peer

func (p staticPeers) AuthorisedPeers(context.Context, time.Time) ([]portalsrv.Peer, error) {
	return p, nil
}

// TestGatewayProcess is the gateway in a process of its own, so a test
// can kill it and freeze it as an outage does. It logs wireguard-go's
// packet lines to stderr and says READY on stdout once it serves.
func TestGatewayProcess(t *testing.T) {
	js := os.Getenv(gatewayChildEnv)
	if js == "" {
		t.Skip("runs only as the gateway process of TestGatewayRestartAndFreeze")
	}
	var c gatewayChild
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("child options: %v", err)
	}
	gw, err := gateway.Start(context.Background(), gateway.Config{
		PrivateKey: c.Key,
		ListenPort: c.Port,
		Address:    netip.PrefixFrom(gatewaytest.GatewayAddr, 16),
		Peers:      staticPeers{{DeviceID: "dev", User: "anna", PublicKey: c.Peer, Address: c.Address, Until: time.Now().Add(24 * time.Hour)}},
		DNS:        gateway.DemoDNS(gatewaytest.GatewayAddr),
		HTTP:       gateway.IntranetHandler("Stadt Musterstadt"),
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("gateway.Start: %v", err)
	}
	defer gw.Close()
	os.Stdout.WriteString("READY\n")
	io.Copy(io.Discard, os.Stdin) // until the parent goes
}

// gatewayProcess is a running gateway child and what its log shows.
type gatewayProcess struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	done chan struct{} // its stderr is read to the end

	mu       sync.Mutex
	accepted int // handshake initiations it accepted
	rejected int // initiations it dropped (flood, replay, unknown)
}

func startGatewayProcess(tb testing.TB, c gatewayChild) *gatewayProcess {
	tb.Helper()
	js, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^TestGatewayProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), gatewayChildEnv+"="+string(js))
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting the gateway process: %v", err)
	}
	g := &gatewayProcess{cmd: cmd, in: in, done: make(chan struct{})}
	tb.Cleanup(g.kill)
	go func() {
		defer close(g.done)
		sc := bufio.NewScanner(errp)
		for sc.Scan() {
			line := sc.Text()
			g.mu.Lock()
			switch {
			case strings.Contains(line, "Received handshake initiation"):
				g.accepted++
			case strings.Contains(line, "Received invalid initiation"):
				g.rejected++
			}
			g.mu.Unlock()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "READY" {
		tb.Fatalf("gateway process did not start: %q, %v", line, err)
	}
	return g
}

func (g *gatewayProcess) counts() (accepted, rejected int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.accepted, g.rejected
}

// kill ends the process at once, as a crash does, and waits for it.
func (g *gatewayProcess) kill() {
	if g.cmd.ProcessState != nil {
		return
	}
	g.cmd.Process.Signal(syscall.SIGCONT)
	g.cmd.Process.Kill()
	g.in.Close()
	<-g.done
	g.cmd.Wait()
}

func (g *gatewayProcess) signal(tb testing.TB, s syscall.Signal) {
	tb.Helper()
	if err := g.cmd.Process.Signal(s); err != nil {
		tb.Fatalf("signal %v to the gateway: %v", s, err)
	}
}

// wgEvents records what the client's wireguard-go and tunnel log: when it
// sent handshake initiations, and how often a device was brought up.
type wgEvents struct {
	mu    sync.Mutex
	sent  []time.Time
	upped int
}

func (w *wgEvents) Enabled(context.Context, slog.Level) bool { return true }
func (w *wgEvents) WithAttrs([]slog.Attr) slog.Handler      { return w }
func (w *wgEvents) WithGroup(string) slog.Handler           { return w }
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
	child := gatewayChild{Key: o.GatewayKey, Port: o.Gateway.Port(), Peer: d.PublicKey, Address: d.Reg.Tunnel.Address}
	o.StopGateway()
	gw := startGatewayProcess(t, child)

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
		gw.kill()
		gw = startGatewayProcess(t, child)
		lost := time.Now()
		c.Signal(session.GatewayLost) // health's verdict, a few seconds later in life
		waitRenewed(t, c, e, lost)
		// The log line may trail the handshake by a moment.
		for a, _ := gw.counts(); a == 0; a, _ = gw.counts() {
			time.Sleep(10 * time.Millisecond)
		}
		if a, r := gw.counts(); a != 1 || r != 0 {
			t.Errorf("restart %d: the new gateway accepted %d initiations and dropped %d; want the first accepted and none dropped", i, a, r)
		}
	}

	for range 3 {
		gw.signal(t, syscall.SIGSTOP)
		c.Signal(session.GatewayLost)
		// Frozen long enough for the session to show the problem.
		waitStatus(t, c, func(s session.Status) bool { return s.Phase == state.Problem && s.Reconnecting })
		thawed := time.Now()
		gw.signal(t, syscall.SIGCONT)
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
