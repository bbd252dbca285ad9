package tunnel_test

import (
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/tun/netstack"
)

// A packet still on its way out of the netstack when the tunnel closes (a
// health probe's DNS lookup while a network change rebuilds the tunnel)
// must not crash the agent. Upstream wireguard-go closed the channel under
// that sender ("send on closed channel", seen once in the agent's tests);
// third_party/wireguard-go carries the fix (DIENSTWEG.md there).
func TestNetstackClosesUnderAWaitingSender(t *testing.T) {
	t.Parallel()
	dev, tnet, err := netstack.CreateNetTUN([]netip.Addr{netip.MustParseAddr("10.77.0.2")}, nil, 1420)
	if err != nil {
		t.Fatalf("CreateNetTUN: %v", err)
	}
	conn, err := tnet.DialUDPAddrPort(netip.AddrPort{}, netip.MustParseAddrPort("10.77.0.1:53"))
	if err != nil {
		t.Fatalf("DialUDPAddrPort: %v", err)
	}
	defer conn.Close()
	// Nobody reads the device (as when wireguard-go stops reading before
	// it closes the TUN), so the write waits inside WriteNotify.
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.Write([]byte("a DNS question"))
		wrote <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); !waitingIn("netstack.(*netTun).WriteNotify"); {
		if time.Now().After(deadline) {
			t.Fatal("the write never reached WriteNotify")
		}
		time.Sleep(time.Millisecond)
	}
	if err := dev.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-wrote: // the packet is dropped with the device; the writer goes on
	case <-time.After(30 * time.Second):
		t.Fatal("the writer still waits after Close")
	}
	if err := dev.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// waitingIn reports whether some goroutine's stack contains fn.
func waitingIn(fn string) bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), fn)
}
