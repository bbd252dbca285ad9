//go:build linux

package agent

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/dienstweg/dienstweg/internal/state"
)

// testNetns is a network namespace of the test's own and a handle to
// change its links and routes.
func testNetns(t *testing.T) (netns.NsHandle, *netlink.Handle) {
	t.Helper()
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
	// Without IPv6 the only route changes are the test's own. With it, a
	// link that comes up gets its link-local address 1 to 2 s later (after
	// duplicate address detection), and that route change is a second
	// burst, which "counts once" saw as the first burst reported twice.
	// /proc/sys/net is the namespace of the thread that opens it: this one.
	for _, conf := range []string{"all", "default"} {
		err := os.WriteFile("/proc/sys/net/ipv6/conf/"+conf+"/disable_ipv6", []byte("1"), 0)
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // a kernel without IPv6 is quiet already
			netns.Set(orig)
			runtime.UnlockOSThread()
			t.Fatalf("disabling IPv6 in the test's namespace: %v", err)
		}
	}
	if err := netns.Set(orig); err != nil {
		t.Fatalf("back to the original namespace: %v", err)
	}
	runtime.UnlockOSThread()
	t.Cleanup(func() { ns.Close(); orig.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return ns, h
}

// upLink adds a veth pair with an address in 192.0.2.0/24 and returns
// its first end. This kernel has no dummy links, and veth is what the
// other namespace tests use too.
func upLink(t *testing.T, h *netlink.Handle) netlink.Link {
	t.Helper()
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
	return link
}

// A route change in a network namespace of the test's own is noticed
// once per burst.
func TestWatchRoutesNoticesChanges(t *testing.T) {
	ns, h := testNetns(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan struct{}, 8)
	w, err := subscribeRoutes(&ns, slog.Default())
	if err != nil {
		t.Fatalf("subscribeRoutes: %v", err)
	}
	go w.run(ctx, 200*time.Millisecond, func() { changes <- struct{}{} })

	link := upLink(t, h)
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

// A flood of route changes while the agent is busy overflows the
// subscription's socket; the kernel drops it (ENOBUFS). Under the
// supervisor the watch says so, subscribes anew, and the next change is
// noticed; before, it ended in silence and no later change was seen.
func TestRouteWatchSurvivesAFlood(t *testing.T) {
	ns, h := testNetns(t)
	link := upLink(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan state.Message, 8)
	sup := newSupervisor(slog.New(slog.NewTextHandler(io.Discard, nil)), func(m state.Message) { reports <- m })
	sup.sleep = func(context.Context, time.Duration) error { return nil }
	defer sup.wait()
	defer cancel()

	changes := make(chan struct{}, 1)
	entered, busy := make(chan struct{}), make(chan struct{})
	var once sync.Once
	sup.start(ctx, component{"network", func(ctx context.Context) error {
		return watchRoutes(ctx, &ns, 50*time.Millisecond, func() {
			once.Do(func() { close(entered); <-busy }) // the first change finds the agent busy
			select {
			case changes <- struct{}{}:
			default:
			}
		}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}})
	route := func(i int) *netlink.Route {
		return &netlink.Route{LinkIndex: link.Attrs().Index, Dst: &net.IPNet{IP: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)), Mask: net.CIDRMask(32, 32)}}
	}
	// The subscription is made in the component's goroutine: add routes
	// until one is noticed.
	next := 0
	for waiting := true; waiting; next++ {
		if err := h.RouteAdd(route(next)); err != nil {
			t.Fatalf("RouteAdd: %v", err)
		}
		select {
		case <-entered:
			waiting = false
		case <-time.After(200 * time.Millisecond):
		}
	}
	// Busy: the watch reads nothing, the kernel's queue fills up.
	const flood = 20000
	for i := next; i < flood; i++ {
		if err := h.RouteAdd(route(i)); err != nil {
			t.Fatalf("RouteAdd %d: %v", i, err)
		}
	}
	close(busy)
	select {
	case m := <-reports:
		if m.Key != "error.component_restarted" || m.Args["Component"] != "network" {
			t.Errorf("report %+v", m)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the overflowed subscription was not noticed (no restart reported)")
	}
	// Drain what the flood left, then a new change must still be seen.
	for drained := false; !drained; {
		select {
		case <-changes:
		case <-time.After(500 * time.Millisecond):
			drained = true
		}
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.ParseIP("192.0.2.1")}); err != nil {
		t.Fatalf("RouteAdd default: %v", err)
	}
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("a change after the flood went unnoticed")
	}
}
