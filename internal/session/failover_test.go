package session_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/health"
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

// TestFailoverToAnotherGateway runs the portal and two gateways of their
// own, each a process that reads the peers from the portal with its
// client certificate, and a real session with the health checks at
// their default timing wired to the supervisor as in the agent. The
// gateway in use is killed; the device must move to the other one by
// itself and requests through the tunnel work again. It reports how
// long that took against the health checks' loss detection.
func TestFailoverToAnotherGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	o := gatewaytest.Start(t, gatewaytest.Options{Remote: true})
	o.StopGateway() // the office's own gateway; two of their own replace it
	gwA, gwB := o.NewServeConfig(t), o.NewServeConfig(t)
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
				if s.Reconnecting {
					mu.Lock()
					sawReconnecting = true
					mu.Unlock()
				}
			}
		}
	}()

	if err := c.Start(ctx, d.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	mon.SessionStarted(userspaceTunnel{e}, net.JoinHostPort(gatewaytest.GatewayAddr.String(), "53"))
	if got := endpointPort(t, e); got != gwA.Port {
		t.Fatalf("session started on port %d, want the first gateway's %d", got, gwA.Port)
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
	// Let the health chain see the gateway answer first.
	time.Sleep(3 * time.Second)

	procA.Kill()
	killed := time.Now()
	var moved, served time.Time
	deadline := killed.Add(30 * time.Second)
	for moved.IsZero() || served.IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("no failover within 30 s: moved %v, served %v, status %+v", !moved.IsZero(), !served.IsZero(), c.Status())
		}
		if st, err := e.Stats(); moved.IsZero() && err == nil && st.Endpoint.Port() == uint16(gwB.Port) && st.LastHandshake.After(killed) {
			moved = time.Now()
		}
		if served.IsZero() && get() == nil {
			served = time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitStatus(t, c, func(s session.Status) bool { return s.Phase == state.Connected && !s.Reconnecting })
	mu.Lock()
	detected, reconnecting := lostAt, sawReconnecting
	mu.Unlock()
	if detected.IsZero() {
		t.Fatalf("the health checks never reported the lost gateway")
	}
	t.Logf("gateway killed → health reports it lost %v → device on the other gateway %v → request through the tunnel served %v",
		detected.Sub(killed).Round(time.Millisecond), moved.Sub(killed).Round(time.Millisecond), served.Sub(killed).Round(time.Millisecond))
	// The move itself is the supervisor's next step after the verdict:
	// one fresh handshake with the other gateway.
	if after := moved.Sub(detected); after > 2*time.Second {
		t.Errorf("the device moved %v after the loss was detected; want at once (under 2 s)", after)
	}
	if !reconnecting {
		t.Errorf("the status never said it was reconnecting while the gateway was lost")
	}
}

// endpointPort is the UDP port of the gateway the tunnel talks to.
func endpointPort(tb testing.TB, e *tunnel.Userspace) int {
	tb.Helper()
	st, err := e.Stats()
	if err != nil {
		tb.Fatalf("Stats: %v", err)
	}
	return int(st.Endpoint.Port())
}
