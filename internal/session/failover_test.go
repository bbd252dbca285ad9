//go:build linux

package session_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/helper/helpertest"
	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// TestOwnGateway is a gateway of its own in a process (gatewaytest.StartServe).
func TestOwnGateway(t *testing.T) { gatewaytest.ServeMain(t) }

// userspaceTunnel adapts the engine for the health checks, as the agent does.
type userspaceTunnel struct{ e *tunnel.Userspace }

func (u userspaceTunnel) LastHandshake() (time.Time, error) {
	st, err := u.e.Stats()
	return st.LastHandshake, err
}

func (u userspaceTunnel) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return u.e.DialContext(ctx, network, address)
}

func (u userspaceTunnel) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	return u.e.LookupHost(ctx, host)
}

// officeNS is a network namespace for one gateway, joined to this one
// by a veth: Host is the gateway's address there, Portal this side's.
type officeNS struct {
	Name         string
	Host, Portal string
}

// newOfficeNS makes the namespace with its veth; both go when the test
// ends.
func newOfficeNS(tb testing.TB, n int) officeNS {
	tb.Helper()
	id := helpertest.Uniq()
	o := officeNS{Name: "dwgw" + strconv.Itoa(n) + "-" + id, Host: fmt.Sprintf("10.204.%d.2", n), Portal: fmt.Sprintf("10.204.%d.1", n)}
	veth := fmt.Sprintf("dwg%d-%s", n, id)
	helpertest.Run(tb, "ip", "netns", "add", o.Name)
	tb.Cleanup(func() { exec.Command("ip", "netns", "del", o.Name).Run() })
	helpertest.Run(tb, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", o.Name)
	helpertest.Run(tb, "ip", "addr", "add", o.Portal+"/24", "dev", veth)
	helpertest.Run(tb, "ip", "link", "set", veth, "up")
	helpertest.Run(tb, "ip", "-n", o.Name, "addr", "add", o.Host+"/24", "dev", "eth0")
	helpertest.Run(tb, "ip", "-n", o.Name, "link", "set", "eth0", "up")
	helpertest.Run(tb, "ip", "-n", o.Name, "link", "set", "lo", "up")
	return o
}

// servePortalOn serves the office's portal also on addr, with a
// certificate from the same CA that covers it.
func servePortalOn(tb testing.TB, o *gatewaytest.Office, addrs ...string) map[string]string {
	tb.Helper()
	mat, err := portalsrv.LoadOrCreateTLS(filepath.Join(o.Portal.Dir, "tls"), append([]string{"127.0.0.1", "localhost"}, addrs...), time.Now())
	if err != nil {
		tb.Fatalf("LoadOrCreateTLS: %v", err)
	}
	urls := map[string]string{}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, "0"))
		if err != nil {
			tb.Fatalf("Listen: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); o.Portal.Server.Serve(ctx, ln, mat.Config()) }()
		tb.Cleanup(func() { cancel(); <-done })
		urls[a] = "https://" + ln.Addr().String()
	}
	return urls
}

// TestFailoverToAnotherGateway runs the portal and two gateways of their
// own, each a process in a network namespace of its own that reads the
// peers from the portal with its client certificate across a veth, and a
// real session with the health checks at their default timing, wired to
// the supervisor as in the agent. The gateway in use is killed; the
// device must move to the other one by itself and requests through the
// tunnel work again. It reports how long that took against the health
// checks' loss detection.
func TestFailoverToAnotherGateway(t *testing.T) {
	helpertest.NeedRoot(t)
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	o := gatewaytest.Start(t, gatewaytest.Options{Remote: true})
	o.StopGateway() // the office's own gateway; two of their own replace it
	nsA, nsB := newOfficeNS(t, 1), newOfficeNS(t, 2)
	portalURLs := servePortalOn(t, o, nsA.Portal, nsB.Portal)
	gwA, gwB := o.NewServeConfig(t), o.NewServeConfig(t)
	gwA.Netns, gwA.Host, gwA.PortalURL = nsA.Name, nsA.Host, portalURLs[nsA.Portal]
	gwB.Netns, gwB.Host, gwB.PortalURL = nsB.Name, nsB.Host, portalURLs[nsB.Portal]
	tcfg := o.Portal.Server.Tunnel()
	tcfg.GatewayEndpoint, tcfg.GatewayPublicKey = "", ""
	tcfg.Gateways = []portalsrv.Gateway{
		{Endpoint: gwA.Endpoint(), PublicKey: gwA.PublicKey()},
		{Endpoint: gwB.Endpoint(), PublicKey: gwB.PublicKey()},
	}
	if err := o.Portal.Server.SetTunnel(tcfg); err != nil {
		t.Fatalf("SetTunnel: %v", err)
	}
	d := o.Enroll(t, "anna") // authorised for the day
	ctx := context.Background()
	procA := gatewaytest.StartServe(t, "^TestOwnGateway$", gwA)
	gatewaytest.StartServe(t, "^TestOwnGateway$", gwB)

	e := tunnel.NewUserspace(tunnel.UserspaceOptions{Logger: slog.New(slog.DiscardHandler)})
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

	// The health chain at its default timing; a local listener stands in
	// for the internet.
	inet, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { inet.Close() })
	go func() {
		for {
			c, err := inet.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	hcfg := health.ConfigFromProfile(&profile.Profile{
		PortalURL: o.Portal.URL, InternetTargets: []string{inet.Addr().String()},
		OfficeDNSName: gateway.DemoIntranetName, Helpdesk: profile.Helpdesk{Phone: "05221 0000"},
	})
	mon := health.New(health.Deps{Store: state.NewStore(state.Snapshot{}, time.Now)}, hcfg)
	mctx, stopMon := context.WithCancel(ctx)
	t.Cleanup(stopMon)
	go mon.Run(mctx)
	var mu sync.Mutex
	var lostAt time.Time
	var sawReconnecting bool
	var askedCode *session.Status
	go func() {
		verdicts, stop := mon.SubscribeVerdict()
		defer stop()
		var v health.Verdict
		for {
			select {
			case <-mctx.Done():
				return
			case next := <-verdicts:
				// The agent's wiring (internal/agent/session.go).
				if next.Active && next.GatewayLost != v.GatewayLost {
					if next.GatewayLost {
						mu.Lock()
						if lostAt.IsZero() {
							lostAt = time.Now()
						}
						mu.Unlock()
						c.Signal(session.GatewayLost)
					} else if v.Active {
						c.Signal(session.GatewayBack)
					}
				}
				v = next
			}
		}
	}()
	go func() {
		ch, stop := c.Subscribe()
		defer stop()
		for {
			select {
			case <-mctx.Done():
				return
			case s := <-ch:
				mu.Lock()
				if s.Reconnecting {
					sawReconnecting = true
				}
				if s.Phase == state.CodeNeeded && askedCode == nil {
					askedCode = &s
				}
				mu.Unlock()
			}
		}
	}()

	if err := c.Start(ctx, d.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	mon.SessionStarted(userspaceTunnel{e}, net.JoinHostPort(gatewaytest.GatewayAddr.String(), "53"))
	if got := endpoint(t, e); got.String() != gwA.Endpoint() {
		t.Fatalf("session started with gateway %s, want the first one %s", got, gwA.Endpoint())
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: e.DialContext}, Timeout: time.Second}
	get := func() error {
		resp, err := hc.Get(gatewaytest.IntranetURL)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("GET before the loss: %v", err)
	}
	// The portal learns from gateway A that the device is there …
	waitDeviceGateway(t, o, d.Reg.DeviceID, gwA)
	// … and the health chain has seen the gateway answer, so that what it
	// reports next is the loss.
	waitVerdict(t, mon, func(v health.Verdict) bool {
		return v.Active && v.Decided && !v.GatewayLost && v.Session == state.Connected
	})

	procA.Kill()
	killed := time.Now()
	// The portal's test clock stands still unless moved; on a real one
	// the handshake with B comes after the one with A, which the portal
	// records as its now minus the age the gateway reports.
	o.Portal.Clock.Advance(time.Minute)
	// The move is read off the tunnel every 10 ms, apart from the
	// requests, which block up to their timeout while the way is lost.
	movedc := make(chan time.Time, 1)
	go func() {
		for time.Since(killed) < 30*time.Second {
			if st, err := e.Stats(); err == nil && st.Endpoint.String() == gwB.Endpoint() && st.LastHandshake.After(killed) {
				movedc <- time.Now()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		close(movedc)
	}()
	var served time.Time
	for served.IsZero() && time.Since(killed) < 30*time.Second {
		if get() == nil {
			served = time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	moved := <-movedc
	if moved.IsZero() || served.IsZero() {
		t.Fatalf("no failover within 30 s: moved %v, served %v, status %+v", !moved.IsZero(), !served.IsZero(), c.Status())
	}
	waitStatus(t, c, func(s session.Status) bool { return s.Phase == state.Connected && !s.Reconnecting })
	mu.Lock()
	detected, reconnecting, codeStatus := lostAt, sawReconnecting, askedCode
	mu.Unlock()
	if detected.IsZero() {
		t.Fatalf("the health checks never reported the lost gateway")
	}
	t.Logf("gateway killed → health reports it lost %v → device on the other gateway %v → request through the tunnel served %v",
		detected.Sub(killed).Round(time.Millisecond), moved.Sub(killed).Round(time.Millisecond), served.Sub(killed).Round(time.Millisecond))
	// How soon it moved is reported above and in docs/gateway.md, not
	// asserted: under load any bound on it fails without a fault. The
	// move itself must have come by itself, without asking for a code.
	if codeStatus != nil {
		t.Errorf("the session asked for a code while it moved: %+v", *codeStatus)
	}
	if !reconnecting {
		t.Errorf("the status never said it was reconnecting while the gateway was lost")
	}
	// … and from gateway B that it moved: the console names B now.
	waitDeviceGateway(t, o, d.Reg.DeviceID, gwB)
}

// waitVerdict waits until the health chain's newest verdict is ok, with a
// generous bound.
func waitVerdict(tb testing.TB, mon *health.Monitor, ok func(health.Verdict) bool) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok(mon.Verdict()) {
		if time.Now().After(deadline) {
			tb.Fatalf("the health chain never reached the verdict; it has %+v", mon.Verdict())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitDeviceGateway waits until the portal records the device's last
// connection through gw, with the endpoint it lists for gw. It is a wait
// with a generous bound, not a timing assertion.
func waitDeviceGateway(tb testing.TB, o *gatewaytest.Office, deviceID string, gw gatewaytest.ServeConfig) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		gs, err := o.Portal.Store.DeviceGateways(context.Background())
		if err != nil {
			tb.Fatalf("DeviceGateways: %v", err)
		}
		g, ok := gs[deviceID]
		if ok && g.GatewayKey == gw.PublicKey() && g.GatewayEndpoint == gw.Endpoint() {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the portal never recorded the device on gateway %s; it has %+v", gw.Endpoint(), g)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// endpoint is the gateway the tunnel talks to.
func endpoint(tb testing.TB, e *tunnel.Userspace) netip.AddrPort {
	tb.Helper()
	st, err := e.Stats()
	if err != nil {
		tb.Fatalf("Stats: %v", err)
	}
	return st.Endpoint
}
