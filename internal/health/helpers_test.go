package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// manualClock is a Clock that moves only when the test says so.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []manualTimer
	// waits receives each duration the monitor asks to sleep.
	waits chan time.Duration
}

type manualTimer struct {
	at time.Time
	ch chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), waits: make(chan time.Duration, 100)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := manualTimer{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
	} else {
		c.timers = append(c.timers, t)
	}
	select {
	case c.waits <- d:
	default:
	}
	return t.ch, func() bool { return true }
}

// Advance moves the clock and fires the timers that became due.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.ch <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

// fakeTunnel is a tunnel whose traffic really goes over loopback; the
// test can lose probes or the whole gateway, and block names.
type fakeTunnel struct {
	clock      Clock
	drops      atomic.Int32 // dials to lose before the next one works
	gatewayOff atomic.Bool
	dnsOff     atomic.Bool
	names      map[string]netip.Addr
	// hostOffline, if set, reports that the laptop itself is offline (no
	// route, no internet, a login page): the tunnel, which runs over the
	// same network, then loses the gateway too.
	hostOffline func() bool
}

func (f *fakeTunnel) gatewayLost() bool {
	return f.gatewayOff.Load() || (f.hostOffline != nil && f.hostOffline())
}

var errLost = errors.New("i/o timeout (lost)")

func (f *fakeTunnel) LastHandshake() (time.Time, error) {
	if f.gatewayLost() {
		return f.clock.Now().Add(-5 * time.Minute), nil
	}
	return f.clock.Now().Add(-10 * time.Second), nil
}

func (f *fakeTunnel) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if f.gatewayLost() {
		return nil, context.DeadlineExceeded
	}
	if f.drops.Load() > 0 {
		f.drops.Add(-1)
		return nil, context.DeadlineExceeded
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

func (f *fakeTunnel) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if f.gatewayLost() || f.dnsOff.Load() {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	if a, ok := f.names[host]; ok {
		return []netip.Addr{a}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// env is a healthy world on loopback: a route, an "internet" listener, a
// captive-probe server, a gateway probe listener and an office web
// service, each of which a test can break.
type env struct {
	t       testing.TB
	clock   *manualClock
	store   *state.Store
	tunnel  *fakeTunnel
	noRoute atomic.Bool
	offline atomic.Bool
	captive atomic.Bool
	// inetBlocked refuses only the internet check's own hosts, as a
	// network that filters them would; the tunnel still works.
	inetBlocked atomic.Bool
	internet    string
	portalUp    atomic.Bool
	service     *httptest.Server
	svcDown     atomic.Bool
	gwAddr      string
	cover       *Cover
	mon         *Monitor
}

type envOption func(*Deps, *Config)

func newEnv(tb testing.TB, opts ...envOption) *env {
	tb.Helper()
	e := &env{t: tb, clock: newManualClock()}
	e.store = state.NewStore(state.Snapshot{Session: state.Connecting}, e.clock.Now)
	e.portalUp.Store(true)

	internet := listen(tb)
	e.internet = internet
	gateway := listen(tb)
	e.gwAddr = gateway

	captive := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.captive.Load() {
			http.Redirect(w, r, "http://login.hotel.test/start?orig=1", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(captive.Close)

	e.service = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.svcDown.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("Intranet"))
	}))
	tb.Cleanup(e.service.Close)

	e.tunnel = &fakeTunnel{clock: e.clock, names: map[string]netip.Addr{"intranet.musterstadt.example": netip.MustParseAddr("10.77.1.10")},
		hostOffline: func() bool { return e.noRoute.Load() || e.offline.Load() || e.captive.Load() }}

	deps := Deps{
		Store: e.store,
		Clock: e.clock,
		Routes: RoutesFunc(func() ([]Route, error) {
			if e.noRoute.Load() {
				return nil, nil
			}
			return []Route{{Interface: "wlan0", Up: true}}, nil
		}),
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if e.offline.Load() || e.noRoute.Load() {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("network is unreachable")}
			}
			if e.inetBlocked.Load() && address == e.internet {
				return nil, context.DeadlineExceeded
			}
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		Portal: PortalFunc(func(ctx context.Context) (time.Time, error) {
			if !e.portalUp.Load() || e.offline.Load() {
				return time.Time{}, context.DeadlineExceeded
			}
			return e.clock.Now(), nil
		}),
		Announcements: AnnouncementsFunc(func(component string, now time.Time) (Cover, bool) {
			if e.cover == nil || component == LocalNetwork || component == Internet {
				return Cover{}, false
			}
			return *e.cover, true
		}),
		Rand: func() float64 { return 0.5 },
	}
	cfg := Config{
		InternetTargets: []string{internet},
		Captive:         CaptiveProbe{URL: captive.URL + "/generate_204"},
		OfficeDNSName:   "intranet.musterstadt.example",
		Services:        []profile.HealthTarget{{Name: "Intranet", Kind: "http", Address: e.service.URL + "/"}},
		Phone:           "05221 123-4567",
		Location:        time.UTC,
		// Generous limits: a loaded CI machine must not turn a slow
		// loopback answer into a failure.
		Timing: Timing{Timeout: 5 * time.Second, GatewayTimeout: 5 * time.Second, Slow: 10 * time.Second},
	}
	for _, o := range opts {
		o(&deps, &cfg)
	}
	e.mon = New(deps, cfg)
	return e
}

// listen accepts and closes connections on loopback until the test ends.
func listen(tb testing.TB) string {
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

// start begins a session and runs rounds until the chain is settled.
func (e *env) start() {
	e.t.Helper()
	e.mon.SessionStarted(e.tunnel, e.gwAddr)
	e.steps(3)
	if s := e.view(); s.Session != state.Connected {
		e.t.Fatalf("after start: session %v, diagnosis %+v", s.Session, s.Health.Diagnosis)
	}
}

// step advances the clock to the next due probe and runs one round, as
// Run would.
func (e *env) step() state.Snapshot {
	e.t.Helper()
	e.clock.Advance(e.mon.nextWait(e.clock.Now()))
	e.mon.round(context.Background())
	return e.view()
}

// view is the store's snapshot with the session state as the agent
// projects it while the session's tunnel works: the monitor writes only
// the chain, and its verdict speaks for the session.
func (e *env) view() state.Snapshot {
	s := e.store.Snapshot()
	if v := e.mon.Verdict(); v.Active {
		s.Session = state.Connecting
		if v.Decided {
			s.Session = v.Session
		}
	}
	return s
}

func (e *env) steps(n int) state.Snapshot {
	e.t.Helper()
	var s state.Snapshot
	for range n {
		s = e.step()
	}
	return s
}

// link returns the chain's link with code (and target).
func link(tb testing.TB, h state.Health, code, target string) state.Link {
	tb.Helper()
	for _, l := range h.Links {
		if l.Code == code && l.Target == target {
			return l
		}
	}
	tb.Fatalf("no link %s %q in %+v", code, target, h.Links)
	return state.Link{}
}
