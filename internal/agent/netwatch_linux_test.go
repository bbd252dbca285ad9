//go:build linux

package agent

import (
	"context"
	"log/slog"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// A route change in a network namespace of the test's own is noticed
// once per burst.
func TestWatchRoutesNoticesChanges(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root; this test must run there")
		}
		t.Skip("needs root to make a network namespace")
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.New() // also switches this thread
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("netns.New: %v", err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatalf("back to the original namespace: %v", err)
	}
	runtime.UnlockOSThread()
	t.Cleanup(func() { ns.Close(); orig.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan struct{}, 8)
	if err := watchRoutes(ctx, &ns, 200*time.Millisecond, func() { changes <- struct{}{} }, slog.Default()); err != nil {
		t.Fatalf("watchRoutes: %v", err)
	}

	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// A veth pair: this kernel has no dummy links, and veth is what the
	// other namespace tests use too.
	link := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "dwwatch0"}, PeerName: "dwwatch1"}
	if err := h.LinkAdd(link); err != nil {
		t.Fatalf("LinkAdd: %v", err)
	}
	for _, name := range []string{"dwwatch0", "dwwatch1"} {
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatalf("LinkByName(%s): %v", name, err)
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatalf("LinkSetUp(%s): %v", name, err)
		}
	}
	addr, _ := netlink.ParseAddr("192.0.2.10/24")
	if err := h.AddrAdd(link, addr); err != nil {
		t.Fatalf("AddrAdd: %v", err)
	}
	// A new default route, as on joining another network.
	if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.ParseIP("192.0.2.1")}); err != nil {
		t.Fatalf("RouteAdd: %v", err)
	}
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no change noticed after adding an address and a default route")
	}
	// The burst (address, link route, default route) counts once.
	select {
	case <-changes:
		t.Error("one burst of route changes was reported twice")
	case <-time.After(time.Second):
	}
}
