package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/demo"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/profile"
)

func start(tb testing.TB, dir string) *demo.Org {
	tb.Helper()
	o, err := demo.Start(context.Background(), dir)
	if err != nil {
		tb.Fatalf("demo.Start: %v", err)
	}
	tb.Cleanup(func() { o.Close() })
	return o
}

func client(tb testing.TB, o *demo.Org, cred string) *portal.Client {
	tb.Helper()
	p, err := o.Profile()
	if err != nil {
		tb.Fatalf("Profile: %v", err)
	}
	cfg := portal.ConfigFromProfile(p)
	cfg.Credential = cred
	c, err := portal.New(cfg)
	if err != nil {
		tb.Fatalf("portal.New: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// enroll enrolls u at the current step and registers a device.
func enroll(tb testing.TB, c *portal.Client, u demo.User) *portal.Registration {
	tb.Helper()
	ctx := context.Background()
	en, err := c.StartEnrollment(ctx, u.Name, u.ActivationCode)
	if err != nil {
		tb.Fatalf("StartEnrollment(%s): %v", u.Name, err)
	}
	// Use the previous step's code: still accepted, and it cannot collide
	// with a code used by an earlier run in the current step.
	code := authcodetest.Code(tb, en.Secret, time.Now().Add(-authcode.Period))
	if _, err := c.ConfirmEnrollment(ctx, en.EnrollmentID, code); err != nil {
		tb.Fatalf("ConfirmEnrollment: %v", err)
	}
	reg, err := c.RegisterDevice(ctx, en.EnrollmentID, portaltest.NewWGKey(), "demo-laptop")
	if err != nil {
		tb.Fatalf("RegisterDevice: %v", err)
	}
	return reg
}

// lockedBuffer collects log output from the demo's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Every log line names its component once: the demo used to add its own
// name to the portal's and the gateway's ("component=demo-gateway
// component=gateway"). Not parallel: it replaces the default logger.
func TestDemoLogNamesComponentOnce(t *testing.T) {
	var buf lockedBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	o, err := demo.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("demo.Start: %v", err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("the demo logged %d lines, want the gateway's start and stop:\n%s", len(lines), buf.String())
	}
	for _, line := range lines {
		if n := strings.Count(line, " component="); n != 1 {
			t.Errorf("%d× component= in %q", n, line)
		}
	}
}

func TestDemoRunsAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	o := start(t, dir)
	if len(o.Users) < 2 {
		t.Fatalf("demo has %d users", len(o.Users))
	}
	for _, u := range o.Users {
		if u.Name == "" || u.DisplayName == "" || len(u.ActivationCode) != 14 {
			t.Errorf("demo user %+v", u)
		}
	}
	c := client(t, o, "")
	ann, err := c.Announcements(ctx, "")
	if err != nil {
		t.Fatalf("Announcements: %v", err)
	}
	sev := map[string]bool{}
	for _, a := range ann.Items {
		sev[a.Severity] = true
		if a.Title.DE == "" || a.Title.EN == "" || a.Body.DE == "" || a.Body.EN == "" {
			t.Errorf("announcement %s lacks a language", a.ID)
		}
	}
	if !sev["maintenance"] || !sev["info"] {
		t.Errorf("demo announcements = %+v, want a maintenance and an info", ann.Items)
	}

	anna := o.Users[0]
	reg := enroll(t, c, anna)
	if reg.Tunnel.GatewayEndpoint != o.Tunnel.GatewayEndpoint || reg.Tunnel.SearchDomains[0] != demo.DemoSearchDomain {
		t.Errorf("tunnel = %+v", reg.Tunnel)
	}
	if peers, err := o.Server.AuthorisedPeers(ctx, time.Now()); err != nil || len(peers) != 1 {
		t.Errorf("AuthorisedPeers after registration = %+v, %v", peers, err)
	}
	oldCA, oldKey := o.CAPEM, o.GatewayPrivateKey
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := o.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The old code is spent.
	if _, err := c.StartEnrollment(ctx, anna.Name, anna.ActivationCode); err == nil {
		t.Errorf("portal still answers after Close")
	}

	o2 := start(t, dir)
	if o2.CAPEM != oldCA || o2.GatewayPrivateKey != oldKey {
		t.Errorf("CA or gateway key changed across runs")
	}
	c2 := client(t, o2, reg.Credential)
	if dev, err := c2.Device(ctx); err != nil || dev.DeviceID != reg.DeviceID {
		t.Errorf("device after restart = %+v, %v", dev, err)
	}
	// The already-used code of the first run is refused...
	if _, err := c2.StartEnrollment(ctx, anna.Name, anna.ActivationCode); !errors.Is(err, portal.ErrInvalidLogin) {
		t.Errorf("first run's code in second run: %v, want ErrInvalidLogin", err)
	}
	// ...and the fresh one lets the same user enroll again.
	var fresh demo.User
	for _, u := range o2.Users {
		if u.Name == anna.Name {
			fresh = u
		}
	}
	enroll(t, client(t, o2, ""), fresh)
}

// The profile a client gets is valid as a file (the strict parser) and
// carries the first demo user's sign-in for the wizard.
func TestProfileCarriesDemoSignIn(t *testing.T) {
	t.Parallel()
	o := start(t, t.TempDir())
	p, err := o.Profile()
	if err != nil {
		t.Fatalf("Profile: %v", err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := profile.Parse(b)
	if err != nil {
		t.Fatalf("Parse(the demo profile): %v", err)
	}
	if back.PortalURL != o.PortalURL || back.PortalCA != o.CAPEM {
		t.Errorf("profile points at %s, the portal is at %s", back.PortalURL, o.PortalURL)
	}
	if back.Demo == nil || back.Demo.User != o.Users[0].Name || back.Demo.ActivationCode != o.Users[0].ActivationCode {
		t.Errorf("Demo = %+v, want %s's sign-in", back.Demo, o.Users[0].Name)
	}
	// On a machine without internet the demo must not say "no internet":
	// its internet check reaches something on this computer that answers.
	if len(back.InternetTargets) == 0 {
		t.Fatalf("InternetTargets empty: the default hosts are out of reach offline")
	}
	for _, target := range back.InternetTargets {
		c, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			t.Errorf("internet target %s of the demo does not answer: %v", target, err)
			continue
		}
		c.Close()
	}
}

func TestDemoPortalOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	if _, err := demo.StartAt(context.Background(), t.TempDir(), "0.0.0.0:0"); err == nil {
		t.Errorf("demo portal started on all interfaces")
	}
}

// The draft accessibility statement names the demo organisation's contact
// for reports of barriers as its profile has it; a changed profile must
// change the statement too.
func TestAccessibilityStatementNamesDemoContact(t *testing.T) {
	t.Parallel()
	p, err := demo.Profile("https://127.0.0.1:1/", "-----BEGIN CERTIFICATE-----\n")
	if err != nil {
		t.Fatalf("Profile: %v", err)
	}
	c := p.AccessibilityContact
	if c == nil {
		t.Fatal("the demo profile has no accessibility_contact")
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "accessibility.md"))
	if err != nil {
		t.Fatalf("reading the statement: %v", err)
	}
	for _, want := range []string{c.Name, c.Email, c.Phone, p.Helpdesk.Phone, p.Helpdesk.Email} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/accessibility.md does not name %q from the demo profile", want)
		}
	}
}

// The port saved from an earlier run is taken where the old check did not
// look: 127.0.0.1 is free, but the gateway binds the port on every address
// of IPv4 and IPv6. The demo used to fail ("gateway up: listen udp4 :P:
// bind: address already in use"); it must start on another port and tell
// devices, and the next run, the port it really has.
func TestDemoTakesAnotherPortWhenTheSavedOneIsTaken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	taken := occupyBesideLoopback(t)
	if err := demo.SaveGatewayPort(dir, taken); err != nil {
		t.Fatalf("SaveGatewayPort: %v", err)
	}
	o := start(t, dir)
	port := o.Gateway.Port()
	if port == taken || port == 0 {
		t.Fatalf("gateway port = %d with %d taken", port, taken)
	}
	want := o.Gateway.Endpoint()
	if o.Tunnel.GatewayEndpoint != want || o.Server.Tunnel().GatewayEndpoint != want {
		t.Errorf("tunnel endpoint: Org %s, portal %s; the gateway is at %s", o.Tunnel.GatewayEndpoint, o.Server.Tunnel().GatewayEndpoint, want)
	}
	reg := enroll(t, client(t, o, ""), o.Users[0])
	if reg.Tunnel.GatewayEndpoint != want {
		t.Errorf("a registered device is told %s; the gateway is at %s", reg.Tunnel.GatewayEndpoint, want)
	}
	if saved, err := demo.SavedGatewayPort(dir); err != nil || saved != port {
		t.Errorf("next run asks for port %d (%v), want the bound %d", saved, err, port)
	}
}

// occupyBesideLoopback holds a UDP port that is free on 127.0.0.1 but
// cannot be bound on all addresses: on [::] only (Go sets IPV6_V6ONLY for
// "udp6"), or, without IPv6, on 127.0.0.2.
func occupyBesideLoopback(tb testing.TB) int {
	tb.Helper()
	c, err := net.ListenPacket("udp6", "[::]:0")
	if err != nil {
		tb.Logf("no IPv6 (%v); taking the port on 127.0.0.2", err)
		c, err = net.ListenPacket("udp4", "127.0.0.2:0")
	}
	if err != nil {
		tb.Fatalf("occupying a port: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.UDPAddr).Port
}
