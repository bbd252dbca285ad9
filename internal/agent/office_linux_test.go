//go:build linux

package agent

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/dienstweg/dienstweg/internal/helper/helpertest"
	"github.com/dienstweg/dienstweg/internal/office"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// officeHost is the office check's host in these tests: the same address
// in the office LAN and in the home network that pretends to be it.
const (
	officeHost = "buero.musterstadt.example"
	officeAddr = "10.20.0.1:8443"
)

// officeLab is the agent's network namespace, which the test moves
// between an office LAN (the office host with a certificate of the
// organisation's CA), a home network whose host at the same address has
// a certificate of another CA for the same name, and a home network
// where nothing answers there.
type officeLab struct {
	agent, office, home, silent string
	orgCA                       []byte
}

func newOfficeLab(t *testing.T) *officeLab {
	t.Helper()
	helpertest.NeedRoot(t)
	id := helpertest.Uniq()
	l := &officeLab{agent: "dwoa-" + id, office: "dwoo-" + id, home: "dwoh-" + id, silent: "dwos-" + id}
	for _, ns := range []string{l.agent, l.office, l.home, l.silent} {
		helpertest.Run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { helpertest.Run(t, "ip", "netns", "del", ns) })
		helpertest.Run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	// One cable to each network; the agent's end stays down until the
	// test plugs it in.
	for _, n := range []struct{ end, ns, addr string }{
		{"office", l.office, "10.20.0.1/24"}, {"home", l.home, "10.20.0.1/24"}, {"silent", l.silent, "10.20.0.3/24"},
	} {
		helpertest.Run(t, "ip", "-n", l.agent, "link", "add", "dw"+n.end+"0", "type", "veth", "peer", "name", "dw"+n.end+"1", "netns", n.ns)
		helpertest.Run(t, "ip", "-n", n.ns, "addr", "add", n.addr, "dev", "dw"+n.end+"1")
		helpertest.Run(t, "ip", "-n", n.ns, "link", "set", "dw"+n.end+"1", "up")
	}
	org, err := portalsrv.LoadOrCreateTLS(t.TempDir(), []string{officeHost}, time.Now())
	if err != nil {
		t.Fatalf("organisation CA: %v", err)
	}
	stranger, err := portalsrv.LoadOrCreateTLS(t.TempDir(), []string{officeHost}, time.Now())
	if err != nil {
		t.Fatalf("another CA: %v", err)
	}
	l.orgCA = org.CAPEM
	serveTLSIn(t, l.office, org.Config())
	serveTLSIn(t, l.home, stranger.Config())
	return l
}

// serveTLSIn answers TLS handshakes at officeAddr inside ns.
func serveTLSIn(t *testing.T, ns string, cfg *tls.Config) {
	t.Helper()
	var ln net.Listener
	if err := helpertest.InNetns(ns, func() (err error) { ln, err = net.Listen("tcp", officeAddr); return err }); err != nil {
		t.Fatalf("listening in %s: %v", ns, err)
	}
	ln = tls.NewListener(ln, cfg)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Read(make([]byte, 1)) // handshakes, then waits for the close
			}()
		}
	}()
}

// plug connects the agent's namespace to network end ("office", "home",
// "silent") alone, as a laptop that moves: the other cables out.
func (l *officeLab) plug(t *testing.T, end string) {
	t.Helper()
	for _, e := range []string{"office", "home", "silent"} {
		helpertest.Run(t, "ip", "-n", l.agent, "addr", "flush", "dev", "dw"+e+"0")
		helpertest.Run(t, "ip", "-n", l.agent, "link", "set", "dw"+e+"0", "down")
	}
	if end == "" {
		return
	}
	helpertest.Run(t, "ip", "-n", l.agent, "link", "set", "dw"+end+"0", "up")
	helpertest.Run(t, "ip", "-n", l.agent, "addr", "add", "10.20.0.2/24", "dev", "dw"+end+"0")
}

// dialIn is office.OutsideTunnel run inside ns: its route look-up and its
// socket belong to the agent's namespace.
func dialIn(ns string) office.DialFunc {
	outside := office.OutsideTunnel(nil)
	return func(ctx context.Context, network, address string) (c net.Conn, err error) {
		ierr := helpertest.InNetns(ns, func() error { c, err = outside(ctx, network, address); return nil })
		if ierr != nil {
			return nil, ierr
		}
		return c, err
	}
}

// The in-office check, driven by the agent's route watch as in
// networkChanged, in real network namespaces: it finds the office LAN
// within seconds of plugging in, and not a home network that has a host
// at the same address and name with another CA's certificate, nor a
// network where nothing answers, nor the office host behind a tunnel
// link. The verdict follows: "Sie sind im Büro", no start offered; back
// to normal after leaving. The figures are logged, not asserted.
func TestOfficeCheckInNamespaces(t *testing.T) {
	l := newOfficeLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	store := state.NewStore(state.Snapshot{Session: state.NotConnected,
		Enrollment: state.Enrollment{Step: "done", Enrolled: true}}, nil)
	store.SetDerive(situation.Derive)
	type report struct {
		at time.Time
		in bool
	}
	reports := make(chan report, 64)
	roots, err := (&profile.Profile{PortalCA: string(l.orgCA)}).PinnedRoots()
	if err != nil {
		t.Fatal(err)
	}
	probe := &office.Probe{Address: officeAddr, ServerName: officeHost, Roots: roots, Dial: dialIn(l.agent)}
	w := office.NewWatcher(probe, time.Hour, func(in bool) {
		store.Update(func(s *state.Snapshot) { s.Office.InOffice = in })
		reports <- report{time.Now(), in}
	}, quiet)
	agentNS, err := netns.GetFromName(l.agent)
	if err != nil {
		t.Fatal(err)
	}
	defer agentNS.Close()
	routes, err := subscribeRoutes(&agentNS, quiet)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); _ = routes.run(ctx, routeDebounce, w.Trigger) }()
	go func() { defer wg.Done(); _ = w.Run(ctx) }()

	await := func(what string, want bool, since time.Time) time.Duration {
		t.Helper()
		for {
			select {
			case r := <-reports:
				if r.in == want {
					d := r.at.Sub(since)
					t.Logf("%s: noticed after %v", what, d.Round(time.Millisecond))
					return d
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: no report of in the office = %v", what, want)
			}
		}
	}
	drain := func() {
		for {
			select {
			case <-reports:
			default:
				return
			}
		}
	}
	verdict := func(what, situationWant string, start state.StartAction) {
		t.Helper()
		v := store.Snapshot().Verdict
		if v.Situation != situationWant || v.Start != start {
			t.Errorf("%s: verdict %s (start %q), want %s (start %q)", what, v.Situation, v.Start, situationWant, start)
		}
	}
	move := func(what, end string, want bool) time.Duration {
		t.Helper()
		drain()
		start := time.Now()
		l.plug(t, end)
		return await(what, want, start)
	}

	<-w.Known() // unplugged: nothing answers
	verdict("unplugged", state.NotConnected.String(), state.StartCode)

	var figures []string
	add := func(what string, d time.Duration) {
		figures = append(figures, what+" "+d.Round(10*time.Millisecond).String())
	}
	add("into the office", move("into the office", "office", true))
	verdict("in the office", situation.InOffice, state.StartHidden)
	add("home, other CA", move("home, same host name, another CA", "home", false))
	verdict("home, other CA", state.NotConnected.String(), state.StartCode)
	add("back into the office", move("back into the office", "office", true))
	add("home, nothing answers", move("home, nothing answers at the address", "silent", false))
	verdict("home, nothing answers", state.NotConnected.String(), state.StartCode)
	add("into the office again", move("into the office again", "office", true))

	// The office host reached through a tunnel link proves nothing: a TUN
	// device (what the helper's tunnel is) routing it must not count.
	drain()
	start := time.Now()
	helpertest.Run(t, "ip", "-n", l.agent, "tuntap", "add", "dev", "dwtun0", "mode", "tun")
	helpertest.Run(t, "ip", "-n", l.agent, "link", "set", "dwtun0", "up")
	helpertest.Run(t, "ip", "-n", l.agent, "route", "add", "10.20.0.1/32", "dev", "dwtun0")
	add("route into a tunnel", await("office host routed through a tunnel link", false, start))
	if err := probe.Check(ctx); err == nil || !strings.Contains(err.Error(), "through the tunnel dwtun0") {
		t.Errorf("Check through the tunnel link = %v, want a refusal naming dwtun0", err)
	}
	drain()
	start = time.Now()
	// The route first: IPv4 drops a deleted link's routes without a
	// notification, which the route watch would not see (the periodic
	// check would, within office.DefaultEvery).
	helpertest.Run(t, "ip", "-n", l.agent, "route", "del", "10.20.0.1/32", "dev", "dwtun0")
	helpertest.Run(t, "ip", "-n", l.agent, "link", "del", "dwtun0")
	add("tunnel gone", await("tunnel link gone", true, start))
	t.Logf("office check after a network change (route watch debounce %v, check timeout %v): %s",
		routeDebounce, office.DefaultTimeout, strings.Join(figures, ", "))
}
