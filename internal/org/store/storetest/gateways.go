package storetest

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// The gateway records (store.Gateways) run in the same suite.
func init() {
	tests = append(tests, []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"handshakes_newest_wins", testHandshakesNewestWins},
		{"handshakes_only_of_admitted_devices", testHandshakesOnlyOfAdmittedDevices},
		{"parallel_record_handshakes", testParallelRecordHandshakes},
	}...)
}

// addAuthorisedDevices registers devices d1…dn of anna (keys k1…kn),
// authorised for the day.
func addAuthorisedDevices(tb testing.TB, s store.Store, n int) {
	tb.Helper()
	addUser(tb, s, "anna")
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.77.0.0/16"), First: netip.MustParseAddr("10.77.0.2")}
	for i := 1; i <= n; i++ {
		id := fmt.Sprint(i)
		if _, err := s.RegisterDevice(ctx, store.Device{ID: "d" + id, User: "anna", PublicKey: "k" + id, CredentialHash: "c" + id, EnrollmentHash: "e" + id, CreatedAt: t0}, pool); err != nil {
			tb.Fatalf("RegisterDevice(d%s): %v", id, err)
		}
		must(tb, "SetAuthorisation", s.SetAuthorisation(ctx, "d"+id, t0.Add(12*time.Hour), t0))
	}
}

func record(tb testing.TB, s store.Store, gw, endpoint string, now time.Time, hs ...store.Handshake) int {
	tb.Helper()
	n, err := s.RecordHandshakes(ctx, gw, endpoint, hs, now)
	if err != nil {
		tb.Fatalf("RecordHandshakes(%s): %v", gw, err)
	}
	return n
}

func gatewayOf(tb testing.TB, s store.Store, device string) store.DeviceGateway {
	tb.Helper()
	gs, err := s.DeviceGateways(ctx)
	if err != nil {
		tb.Fatalf("DeviceGateways: %v", err)
	}
	return gs[device]
}

func testHandshakesNewestWins(t *testing.T, open Opener) {
	s := open(t)
	addAuthorisedDevices(t, s, 2)
	if gs, err := s.DeviceGateways(ctx); err != nil || len(gs) != 0 {
		t.Fatalf("DeviceGateways before any handshake = %v, %v; want none", gs, err)
	}
	now := t0.Add(time.Hour)
	if n := record(t, s, "gwA", "a.example:51820", now,
		store.Handshake{DeviceID: "d1", PublicKey: "k1", At: now.Add(-10 * time.Second)},
		store.Handshake{DeviceID: "d2", PublicKey: "k2", At: now.Add(-20 * time.Second)}); n != 2 {
		t.Fatalf("recorded %d, want 2", n)
	}
	want := store.DeviceGateway{DeviceID: "d1", GatewayKey: "gwA", GatewayEndpoint: "a.example:51820", LastHandshake: now.Add(-10 * time.Second)}
	if got := gatewayOf(t, s, "d1"); got != want {
		t.Errorf("d1 = %+v, want %+v", got, want)
	}
	// Gateway A reporting late, after d1 failed over to B: B's newer
	// handshake stays, A's older one changes nothing.
	if n := record(t, s, "gwB", "b.example:51820", now, store.Handshake{DeviceID: "d1", PublicKey: "k1", At: now.Add(-5 * time.Second)}); n != 1 {
		t.Fatalf("newer handshake from B recorded %d, want 1", n)
	}
	if n := record(t, s, "gwA", "a.example:51820", now, store.Handshake{DeviceID: "d1", PublicKey: "k1", At: now.Add(-8 * time.Second)}); n != 0 {
		t.Errorf("older handshake from A recorded %d, want 0", n)
	}
	want = store.DeviceGateway{DeviceID: "d1", GatewayKey: "gwB", GatewayEndpoint: "b.example:51820", LastHandshake: now.Add(-5 * time.Second)}
	// Another handle (another portal instance) sees the same.
	if got := gatewayOf(t, open(t), "d1"); got != want {
		t.Errorf("d1 after failover = %+v, want %+v", got, want)
	}
	// Of two in the same second, the later report wins: the device
	// moved back.
	if n := record(t, s, "gwA", "a.example:51820", now, store.Handshake{DeviceID: "d1", PublicKey: "k1", At: now.Add(-5 * time.Second)}); n != 1 {
		t.Errorf("A's report of the same second recorded %d, want 1", n)
	}
	want.GatewayKey, want.GatewayEndpoint = "gwA", "a.example:51820"
	if got := gatewayOf(t, s, "d1"); got != want {
		t.Errorf("d1 after moving back = %+v, want %+v", got, want)
	}
	// One row per device however often it is reported.
	for i := range 5 {
		record(t, s, "gwA", "a.example:51820", now, store.Handshake{DeviceID: "d2", PublicKey: "k2", At: now.Add(time.Duration(i) * time.Second)})
	}
	gs, err := s.DeviceGateways(ctx)
	if err != nil || len(gs) != 2 || gs["d2"].LastHandshake != now.Add(4*time.Second) {
		t.Errorf("DeviceGateways = %+v, %v; want 2 rows, d2 at its newest handshake", gs, err)
	}
}

func testHandshakesOnlyOfAdmittedDevices(t *testing.T, open Opener) {
	s := open(t)
	addAuthorisedDevices(t, s, 3)
	now := t0.Add(time.Hour)
	must(t, "RevokeDevice", s.RevokeDevice(ctx, "d3", now))
	n := record(t, s, "gwA", "a.example:51820", now,
		store.Handshake{DeviceID: "d1", PublicKey: "k2", At: now}, // another device's key
		store.Handshake{DeviceID: "nope", PublicKey: "k1", At: now},
		store.Handshake{DeviceID: "d3", PublicKey: "k3", At: now}, // revoked
	)
	// The session of d2 has ended by then.
	n += record(t, s, "gwA", "a.example:51820", t0.Add(13*time.Hour), store.Handshake{DeviceID: "d2", PublicKey: "k2", At: t0.Add(13 * time.Hour)})
	if gs, err := s.DeviceGateways(ctx); n != 0 || err != nil || len(gs) != 0 {
		t.Errorf("recorded %d: %+v, %v; want nothing for devices not admitted under that key", n, gs, err)
	}
}

// Gateways report the same devices at once, in different orders.
func testParallelRecordHandshakes(t *testing.T, open Opener) {
	s := open(t)
	const devices = 20
	addAuthorisedDevices(t, s, devices)
	now := t0.Add(time.Hour)
	errs := parallel(t, open, 8, func(s store.Store, i int) error {
		var hs []store.Handshake
		for d := range devices {
			if i%2 == 1 {
				d = devices - 1 - d
			}
			hs = append(hs, store.Handshake{DeviceID: fmt.Sprint("d", d+1), PublicKey: fmt.Sprint("k", d+1), At: now.Add(time.Duration(i) * time.Second)})
		}
		_, err := s.RecordHandshakes(ctx, fmt.Sprint("gw", i), "gw.example:51820", hs, now)
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("gateway %d: %v", i, err)
		}
	}
	// The newest of all, gateway 7's, wins for every device.
	gs, err := s.DeviceGateways(ctx)
	must(t, "DeviceGateways", err)
	for d := 1; d <= devices; d++ {
		if g := gs[fmt.Sprint("d", d)]; g.GatewayKey != "gw7" || g.LastHandshake != now.Add(7*time.Second) {
			t.Errorf("d%d = %+v, want gw7 at its newest handshake", d, g)
		}
	}
}
