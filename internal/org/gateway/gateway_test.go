package gateway_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/tunnel"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// up brings a userspace client tunnel up for d against the office.
func up(tb testing.TB, d *gatewaytest.Device) *tunnel.Userspace {
	tb.Helper()
	e := tunnel.NewUserspace(tunnel.UserspaceOptions{})
	if err := e.Up(context.Background(), tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)); err != nil {
		tb.Fatalf("Up: %v", err)
	}
	tb.Cleanup(func() { e.Down() })
	return e
}

// get fetches url through e, with a bound so a blocked peer fails.
func get(e tunnel.Engine, url string, timeout time.Duration) (string, error) {
	c := &http.Client{
		Transport: &http.Transport{DialContext: e.DialContext, DisableKeepAlives: true},
		Timeout:   timeout,
	}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestAuthorisedPeerReachesIntranet(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{})
	d := o.Enroll(t, "anna")
	o.WaitAdmitted(t, d, true)
	e := up(t, d)
	body, err := get(e, gatewaytest.IntranetURL, 20*time.Second)
	if err != nil {
		t.Fatalf("GET intranet: %v", err)
	}
	if !strings.Contains(body, "Intranet der Stadt Musterstadt") {
		t.Errorf("intranet page = %q", body)
	}
	peers, err := o.Gateway.Peers()
	if err != nil {
		t.Fatalf("Peers: %v", err)
	}
	if len(peers) != 1 || peers[0].PublicKey != d.PublicKey || peers[0].LastHandshake.IsZero() {
		t.Errorf("gateway peers = %+v, want %s with a handshake", peers, d.PublicKey)
	}
	if want := d.Reg.Tunnel.Address; peers[0].Address != want {
		t.Errorf("peer address = %s, want %s", peers[0].Address, want)
	}
}

func TestPeerWithoutAuthorisationGetsNoPackets(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{})
	d := o.Enroll(t, "bernd")
	if _, err := d.Client.EndSession(context.Background()); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	o.WaitAdmitted(t, d, false)
	e := up(t, d)
	if body, err := get(e, "http://"+gatewaytest.GatewayAddr.String()+"/", 3*time.Second); err == nil {
		t.Fatalf("unauthorised peer fetched the intranet: %q", body)
	}
	st, err := e.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if !st.LastHandshake.IsZero() || st.RxBytes != 0 {
		t.Errorf("unauthorised peer got an answer: %+v", st)
	}
}

// TestAuthorisationEndCutsPeerOff covers the two ways an admission ends:
// the clock passing its end, and revocation of the device.
func TestAuthorisationEndCutsPeerOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, o *gatewaytest.Office, d *gatewaytest.Device)
	}{
		{"expiry", func(t *testing.T, o *gatewaytest.Office, d *gatewaytest.Device) {
			if d.Reg.AuthorisedUntil == nil {
				t.Fatalf("registration did not authorise the device")
			}
			o.Portal.Clock.Set(d.Reg.AuthorisedUntil.Add(time.Second))
		}},
		{"revocation", func(t *testing.T, o *gatewaytest.Office, d *gatewaytest.Device) {
			if err := o.Portal.Server.RevokeDevice(context.Background(), d.Reg.DeviceID); err != nil {
				t.Fatalf("RevokeDevice: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := gatewaytest.Start(t, gatewaytest.Options{})
			d := o.Enroll(t, "clara")
			o.WaitAdmitted(t, d, true)
			e := up(t, d)
			if _, err := get(e, gatewaytest.IntranetURL, 20*time.Second); err != nil {
				t.Fatalf("GET before the end: %v", err)
			}
			tc.end(t, o, d)
			o.WaitAdmitted(t, d, false)
			if body, err := get(e, gatewaytest.IntranetURL, 3*time.Second); err == nil {
				t.Fatalf("peer still reaches the intranet after the end: %q", body)
			}
		})
	}
}

// memSource is an in-memory PeerSource whose answers a test sets.
type memSource struct {
	mu    sync.Mutex
	peers []portalsrv.Peer
	err   error
}

func (m *memSource) AuthorisedPeers(ctx context.Context, now time.Time) ([]portalsrv.Peer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var out []portalsrv.Peer
	for _, p := range m.peers {
		if now.Before(p.Until) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (m *memSource) set(peers []portalsrv.Peer, err error) {
	m.mu.Lock()
	m.peers, m.err = peers, err
	m.mu.Unlock()
}

func TestUnreachablePortalNeverExtendsAdmission(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	key, _ := wgconf.NewPrivateKey()
	peerKey, _ := wgconf.NewPrivateKey()
	peerPub, _ := wgconf.PublicKey(peerKey)
	src := &memSource{}
	src.set([]portalsrv.Peer{{
		DeviceID: "dev_1", User: "u", PublicKey: peerPub,
		Address: netip.MustParsePrefix("10.77.0.10/32"), Until: now.Add(time.Hour),
	}}, nil)
	gw, err := gateway.Start(ctx, gateway.Config{
		PrivateKey: key, Address: netip.MustParsePrefix("10.77.0.1/16"),
		Peers: src, Now: clock, PollInterval: time.Hour,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer gw.Close()
	count := func() int {
		ps, err := gw.Peers()
		if err != nil {
			t.Fatalf("Peers: %v", err)
		}
		return len(ps)
	}
	if n := count(); n != 1 {
		t.Fatalf("admitted %d peers at start, want 1", n)
	}
	src.set(nil, errors.New("portal down"))
	advance(30 * time.Minute)
	if err := gw.Reconcile(ctx); err == nil {
		t.Errorf("Reconcile hid the portal error")
	}
	if n := count(); n != 1 {
		t.Errorf("portal down within the admission: %d peers, want 1", n)
	}
	advance(31 * time.Minute)
	gw.Reconcile(ctx)
	if n := count(); n != 0 {
		t.Errorf("portal down after the admission ended: %d peers, want 0", n)
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	t.Parallel()
	key, _ := wgconf.NewPrivateKey()
	addr := netip.MustParsePrefix("10.77.0.1/16")
	for _, tc := range []struct {
		name string
		cfg  gateway.Config
	}{
		{"no_source", gateway.Config{PrivateKey: key, Address: addr}},
		{"no_address", gateway.Config{PrivateKey: key, Peers: &memSource{}}},
		{"bad_key", gateway.Config{PrivateKey: "nope", Address: addr, Peers: &memSource{}}},
		{"kernel_without_name", gateway.Config{PrivateKey: key, Address: addr, Peers: &memSource{}, Kernel: &gateway.KernelOptions{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if gw, err := gateway.Start(context.Background(), tc.cfg); err == nil {
				gw.Close()
				t.Errorf("Start accepted %s", tc.name)
			}
		})
	}
}
