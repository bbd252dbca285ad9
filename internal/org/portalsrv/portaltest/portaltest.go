// Package portaltest starts the real portal server for tests: HTTPS on
// loopback with its own CA, a SQLite file in a temporary directory and a
// clock the test controls.
package portaltest

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Env is a running portal.
type Env struct {
	URL    string
	CAPEM  string
	Dir    string
	Clock  *Clock
	Server *portalsrv.Server
	Store  store.Store
	Config portalsrv.Config

	openStore func(testing.TB) store.Store
	cancel    context.CancelFunc
	done      chan error
}

// Options change the defaults of Start.
type Options struct {
	// Dir reuses a data directory (for restart tests); empty means a new
	// t.TempDir().
	Dir string
	// Clock reuses a clock; nil means one at a fixed time of day on a
	// real date, so TLS validity (real time) and TOTP (clock) both work.
	Clock *Clock
	// Config is applied on top of the test defaults; Now, Tunnel and
	// Location are filled in when zero.
	Config portalsrv.Config
	// OpenStore opens the portal's store, e.g. on a pgtest database that
	// several portals share; nil means SQLite in Dir. Restart opens it
	// again, Stop closes what it returned.
	OpenStore func(tb testing.TB) store.Store
}

// Tunnel is the tunnel configuration of test portals.
func Tunnel() portalsrv.TunnelConfig {
	return portalsrv.TunnelConfig{
		Pool:             netip.MustParsePrefix("10.77.0.0/16"),
		DNS:              []netip.Addr{netip.MustParseAddr("10.77.0.1")},
		SearchDomains:    []string{"musterstadt.example"},
		GatewayEndpoint:  "127.0.0.1:51820",
		GatewayPublicKey: NewWGKey(),
		AllowedIPs:       []netip.Prefix{netip.MustParsePrefix("10.77.0.0/16")},
		KeepaliveSeconds: 25,
	}
}

// NewWGKey returns a fresh base64 X25519 public key.
func NewWGKey() string {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(k.PublicKey().Bytes())
}

// Start runs a portal until the test ends.
func Start(tb testing.TB, opt Options) *Env {
	tb.Helper()
	dir := opt.Dir
	if dir == "" {
		dir = tb.TempDir()
	}
	clk := opt.Clock
	if clk == nil {
		// 09:00:10 UTC today: mid-step for TOTP, before the session end.
		y, m, d := time.Now().UTC().Date()
		clk = NewClock(time.Date(y, m, d, 9, 0, 10, 0, time.UTC))
	}
	cfg := opt.Config
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if !cfg.Tunnel.Pool.IsValid() {
		cfg.Tunnel = Tunnel()
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Stadt Musterstadt"
	}
	if cfg.ReleaseDir == "" {
		cfg.ReleaseDir = filepath.Join(dir, "releases")
	}
	ctx := context.Background()
	var st store.Store
	if opt.OpenStore != nil {
		st = opt.OpenStore(tb)
	} else {
		sq, err := store.OpenSQLite(ctx, filepath.Join(dir, "portal.db"))
		if err != nil {
			tb.Fatalf("OpenSQLite: %v", err)
		}
		st = sq
	}
	srv, err := portalsrv.New(cfg, st)
	if err != nil {
		st.Close()
		tb.Fatalf("portalsrv.New: %v", err)
	}
	mat, err := portalsrv.LoadOrCreateTLS(filepath.Join(dir, "tls"), []string{"127.0.0.1", "localhost"}, time.Now())
	if err != nil {
		st.Close()
		tb.Fatalf("LoadOrCreateTLS: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		tb.Fatalf("Listen: %v", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	e := &Env{
		URL:       "https://" + ln.Addr().String(),
		CAPEM:     string(mat.CAPEM),
		Dir:       dir,
		Clock:     clk,
		Server:    srv,
		Store:     st,
		Config:    cfg,
		openStore: opt.OpenStore,
		cancel:    cancel,
		done:      make(chan error, 1),
	}
	go func() { e.done <- srv.Serve(sctx, ln, mat.Config()) }()
	tb.Cleanup(e.Stop)
	return e
}

// Stop shuts the server down and closes the store. It is idempotent.
func (e *Env) Stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	<-e.done
	e.Store.Close()
	e.cancel = nil
}

// Restart stops the portal and starts a new one on the same directory
// and clock (on a new port).
func (e *Env) Restart(tb testing.TB) *Env {
	tb.Helper()
	e.Stop()
	cfg := e.Config
	cfg.Now = nil
	return Start(tb, Options{Dir: e.Dir, Clock: e.Clock, Config: cfg, OpenStore: e.openStore})
}

// AddUser creates a user and returns a fresh activation code.
func (e *Env) AddUser(tb testing.TB, name, displayName string, groups ...string) string {
	tb.Helper()
	ctx := context.Background()
	err := e.Store.CreateUser(ctx, store.User{Name: name, DisplayName: displayName, Groups: groups, CreatedAt: e.Clock.Now()})
	if err != nil {
		tb.Fatalf("CreateUser: %v", err)
	}
	code, err := portalsrv.IssueActivationCode(ctx, e.Store, name, e.Clock.Now(), 0)
	if err != nil {
		tb.Fatalf("IssueActivationCode: %v", err)
	}
	return code
}

// Client returns a client for the portal that waits without sleeping
// (recording the waits in *waits if not nil) and uses the portal's clock.
func (e *Env) Client(tb testing.TB, mod func(*portal.Config)) *portal.Client {
	tb.Helper()
	cfg := portal.Config{
		BaseURL: e.URL,
		CAPEM:   e.CAPEM,
		Now:     e.Clock.Now,
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := portal.New(cfg)
	if err != nil {
		tb.Fatalf("portal.New: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}
