package gatewaytest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// serveEnv carries a ServeConfig to the child.
const serveEnv = "DIENSTWEG_GATEWAYTEST_SERVE"

// ServeConfig is a gateway of its own, as "dienstweg-portal gateway
// serve" runs it: its key and port, and what it needs to ask the portal.
type ServeConfig struct {
	Key  string
	Port int
	// Netns, if set, is the network namespace the process runs in
	// (ip netns exec), and Host its address there; default 127.0.0.1.
	Netns     string
	Host      string
	PortalURL string
	CertPEM   []byte
	KeyPEM    []byte
	CAPEM     []byte
}

// PublicKey is the gateway's public key.
func (c ServeConfig) PublicKey() string {
	pub, _ := wgconf.PublicKey(c.Key)
	return pub
}

// Endpoint is where devices reach the gateway.
func (c ServeConfig) Endpoint() string {
	host := c.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(c.Port))
}

// NewServeConfig makes a gateway of the office with a fresh key, a free
// UDP port and a client certificate from the portal's CA. The portal
// must list its key among the gateways before the gateway asks.
func (o *Office) NewServeConfig(tb testing.TB) ServeConfig {
	tb.Helper()
	key, err := wgconf.NewPrivateKey()
	if err != nil {
		tb.Fatalf("NewPrivateKey: %v", err)
	}
	pub, _ := wgconf.PublicKey(key)
	c, err := portalsrv.IssueGatewayCert(filepath.Join(o.Portal.Dir, "tls"), pub, nil, time.Now())
	if err != nil {
		tb.Fatalf("IssueGatewayCert: %v", err)
	}
	return ServeConfig{Key: key, Port: freeUDPPort(tb), PortalURL: o.Portal.URL, CertPEM: c.CertPEM, KeyPEM: c.KeyPEM, CAPEM: c.CAPEM}
}

// freeUDPPort is a port free a moment ago on loopback; the gateway
// process binds it soon after.
func freeUDPPort(tb testing.TB) int {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("ListenPacket: %v", err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// ServeMain is the body of a gateway-of-its-own process: userspace
// WireGuard (wireguard-go and netstack) with the demo intranet, its
// peers from the portal (gateway.RunWithPortal). Call it from a test
// named by StartServe's run pattern; it skips outside a child. It says
// READY on stdout once it serves and ends when its stdin closes.
func ServeMain(tb testing.TB) {
	js := os.Getenv(serveEnv)
	if js == "" {
		tb.Skip("runs only as a gateway process started by gatewaytest.StartServe")
	}
	var c ServeConfig
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		tb.Fatalf("gateway process options: %v", err)
	}
	tlsCfg, err := gateway.GatewayTLSFromPEM(c.CertPEM, c.KeyPEM, c.CAPEM)
	if err != nil {
		tb.Fatalf("gateway tls: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		var b [1]byte
		os.Stdin.Read(b[:])
		stop()
	}()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	err = gateway.RunWithPortal(ctx, gateway.PortalSourceConfig{PortalURL: c.PortalURL, TLS: tlsCfg, Logger: logger}, gateway.Config{
		PrivateKey: c.Key,
		ListenPort: c.Port,
		Address:    netip.PrefixFrom(GatewayAddr, 16),
		DNS:        gateway.DemoDNS(GatewayAddr),
		HTTP:       gateway.IntranetHandler("Stadt Musterstadt"),
		Logger:     logger,
	}, func(*gateway.Gateway) { os.Stdout.WriteString("READY\n") })
	if err != nil {
		tb.Fatalf("gateway: %v", err)
	}
}

// StartServe re-runs this test binary as a gateway of its own: run is
// the -test.run pattern of the test that calls ServeMain. It returns once
// the gateway serves; the process is killed when the test ends.
func StartServe(tb testing.TB, run string, c ServeConfig) *Process {
	tb.Helper()
	js, _ := json.Marshal(c)
	var wrap []string
	if c.Netns != "" {
		wrap = []string{"ip", "netns", "exec", c.Netns}
	}
	return startChild(tb, run, serveEnv+"="+string(js), wrap...)
}

// Lines returns the process's log lines that contain s.
func (p *Process) Lines(s string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}
