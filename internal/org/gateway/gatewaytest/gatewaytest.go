// Package gatewaytest starts a small office for tests and benchmarks: the
// real portal (HTTPS, SQLite, test clock) and the real gateway in
// userspace mode with the demo intranet behind it, and enrolls devices
// with real key pairs and authenticator codes.
package gatewaytest

import (
	"context"
	"crypto/tls"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// GatewayAddr is the gateway's tunnel address; the intranet's web and
// DNS servers listen on it.
var GatewayAddr = netip.MustParseAddr("10.77.0.1")

// IntranetURL is the demo intranet page by its internal name.
const IntranetURL = "http://" + gateway.DemoIntranetName + "/"

// Office is a running portal with its gateway.
type Office struct {
	Portal     *portaltest.Env
	Gateway    *gateway.Gateway
	GatewayKey string

	gcfg       gateway.Config
	stopSource func() // the Remote gateway's long poll, or nil
}

// Options change the defaults of Start.
type Options struct {
	// Portal options; the tunnel configuration is filled in.
	Portal portaltest.Options
	// Gateway is applied on top of the defaults (Peers, PrivateKey,
	// Address, DNS, HTTP, Now) before start, if not nil.
	Gateway func(*gateway.Config)
	// Remote makes the gateway one of its own: it reads the peers from
	// the portal over HTTPS with its client certificate (PortalSource)
	// instead of asking the server in this process.
	Remote bool
}

// Start runs an office until the test ends.
func Start(tb testing.TB, opt Options) *Office {
	tb.Helper()
	key, err := wgconf.NewPrivateKey()
	if err != nil {
		tb.Fatalf("NewPrivateKey: %v", err)
	}
	pub, _ := wgconf.PublicKey(key)
	tcfg := portaltest.Tunnel()
	tcfg.First = netip.MustParseAddr("10.77.0.10")
	tcfg.GatewayPublicKey = pub
	tcfg.DNS = []netip.Addr{GatewayAddr}
	// The endpoint is set once the gateway has its port.
	tcfg.GatewayEndpoint = "127.0.0.1:9"
	opt.Portal.Config.Tunnel = tcfg
	if opt.Remote {
		if opt.Portal.Dir == "" {
			opt.Portal.Dir = tb.TempDir()
		}
		ca, err := portalsrv.GatewayClientCA(filepath.Join(opt.Portal.Dir, "tls"), time.Now())
		if err != nil {
			tb.Fatalf("GatewayClientCA: %v", err)
		}
		opt.Portal.Config.GatewayClientCA = ca
	}
	env := portaltest.Start(tb, opt.Portal)
	var peers gateway.PeerSource = env.Server
	handshakes := gateway.LocalHandshakes(env.Server, pub)
	var stopSource func()
	if opt.Remote {
		ps, stop := startPortalSource(tb, env, pub)
		peers, handshakes, stopSource = ps, ps, stop
	}
	gcfg := gateway.Config{
		PrivateKey: key,
		Address:    netip.PrefixFrom(GatewayAddr, 16),
		Peers:      peers,
		Handshakes: handshakes,
		DNS:        gateway.DemoDNS(GatewayAddr),
		HTTP:       gateway.IntranetHandler("Stadt Musterstadt"),
		Now:        env.Clock.Now,
	}
	if opt.Gateway != nil {
		opt.Gateway(&gcfg)
	}
	gw, err := gateway.Start(context.Background(), gcfg)
	if err != nil {
		tb.Fatalf("gateway.Start: %v", err)
	}
	tb.Cleanup(func() { gw.Close() })
	tcfg.GatewayEndpoint = gw.Endpoint()
	if err := env.Server.SetTunnel(tcfg); err != nil {
		tb.Fatalf("SetTunnel: %v", err)
	}
	gcfg.ListenPort = gw.Port()
	return &Office{Portal: env, Gateway: gw, GatewayKey: key, gcfg: gcfg, stopSource: stopSource}
}

// GatewayTLS issues a client certificate for the gateway with this
// public key from env's CA, as "dienstweg-portal gateway cert" does.
func GatewayTLS(tb testing.TB, env *portaltest.Env, publicKey string) *tls.Config {
	tb.Helper()
	c, err := portalsrv.IssueGatewayCert(filepath.Join(env.Dir, "tls"), publicKey, nil, time.Now())
	if err != nil {
		tb.Fatalf("IssueGatewayCert: %v", err)
	}
	cfg, err := gateway.GatewayTLSFromPEM(c.CertPEM, c.KeyPEM, c.CAPEM)
	if err != nil {
		tb.Fatalf("GatewayTLSFromPEM: %v", err)
	}
	return cfg
}

// startPortalSource runs the peer source of the gateway with this
// public key against env until stop is called or the test ends.
func startPortalSource(tb testing.TB, env *portaltest.Env, publicKey string) (*gateway.PortalSource, func()) {
	tb.Helper()
	ps, err := gateway.NewPortalSource(gateway.PortalSourceConfig{PortalURL: env.URL, TLS: GatewayTLS(tb, env, publicKey)})
	if err != nil {
		tb.Fatalf("NewPortalSource: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ps.Run(ctx) }()
	stop := func() { cancel(); <-done }
	tb.Cleanup(stop)
	return ps, stop
}

// StopGateway stops the gateway, as in an outage. A Remote gateway's
// long poll stops with it; StartGateway brings back the gateway only.
func (o *Office) StopGateway() {
	o.Gateway.Close()
	if o.stopSource != nil {
		o.stopSource()
	}
}

// StartGateway starts a new gateway with the same key and port, as after
// an outage.
func (o *Office) StartGateway(tb testing.TB) {
	tb.Helper()
	gw, err := gateway.Start(context.Background(), o.gcfg)
	if err != nil {
		tb.Fatalf("gateway.Start: %v", err)
	}
	tb.Cleanup(func() { gw.Close() })
	o.Gateway = gw
}

// Device is an enrolled device of a user.
type Device struct {
	User       string
	PrivateKey string
	PublicKey  string
	Credential string
	// Secret is the user's authenticator secret.
	Secret string
	// Client holds the device credential.
	Client *portal.Client
	Reg    *portal.Registration

	office *Office
}

// Enroll creates user, enrolls a device with a fresh key pair and returns
// it. Registration right after confirmation authorises the device for the
// day (the portal's auto-session window); call EndSession to start
// without authorisation.
func (o *Office) Enroll(tb testing.TB, user string) *Device {
	tb.Helper()
	ctx := context.Background()
	env := o.Portal
	act := env.AddUser(tb, user, "Test "+user)
	c := env.Client(tb, nil)
	en, err := c.StartEnrollment(ctx, user, act)
	if err != nil {
		tb.Fatalf("StartEnrollment: %v", err)
	}
	if _, err := c.ConfirmEnrollment(ctx, en.EnrollmentID, authcodetest.Code(tb, en.Secret, env.Clock.Now())); err != nil {
		tb.Fatalf("ConfirmEnrollment: %v", err)
	}
	priv, err := wgconf.NewPrivateKey()
	if err != nil {
		tb.Fatalf("NewPrivateKey: %v", err)
	}
	pub, _ := wgconf.PublicKey(priv)
	reg, err := c.RegisterDevice(ctx, en.EnrollmentID, pub, "laptop")
	if err != nil {
		tb.Fatalf("RegisterDevice: %v", err)
	}
	return &Device{
		User: user, PrivateKey: priv, PublicKey: pub, Credential: reg.Credential,
		Secret: en.Secret, Client: c, Reg: reg, office: o,
	}
}

// NextCode moves the portal clock to the next step (each step's code is
// accepted once) and returns the code of that step.
func (d *Device) NextCode(tb testing.TB) string {
	tb.Helper()
	d.office.Portal.Clock.Advance(authcode.Period)
	return authcodetest.Code(tb, d.Secret, d.office.Portal.Clock.Now())
}

// WaitAdmitted waits until the gateway has (want true) or has not (want
// false) admitted the device's peer. It is a wait with a generous
// deadline, not a timing assertion.
func (o *Office) WaitAdmitted(tb testing.TB, d *Device, want bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		o.Gateway.Kick()
		peers, err := o.Gateway.Peers()
		if err != nil {
			tb.Fatalf("Peers: %v", err)
		}
		has := false
		for _, p := range peers {
			if p.PublicKey == d.PublicKey {
				has = true
			}
		}
		if has == want {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gateway admitted=%v for %s, want %v", has, d.User, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ensure the portal type still satisfies the gateway's source.
var _ gateway.PeerSource = (*portalsrv.Server)(nil)
