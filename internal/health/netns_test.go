//go:build linux

// The health monitor against the real tunnel (issue 6, "Tests (real
// parts)"): the helper holds a kernel TUN in a home namespace, the real
// gateway and intranet run in an office namespace. The monitor itself runs
// in a child process inside the home namespace, because every probe (the
// route table, the host dialer, the System engine's dials and its office
// DNS lookups, whose resolver dials on goroutines of its own) must see
// that namespace. The child streams each store snapshot to this process,
// which breaks one link at a time and waits for the state it expects.

package health_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/helper/helpertest"
	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// TestHelperChild is the helper process of the namespace tests.
func TestHelperChild(t *testing.T) { helpertest.Child(t) }

const monitorChildEnv = "DIENSTWEG_TEST_HEALTH_CHILD"

// snapPrefix marks the child's snapshot lines among the test output.
const snapPrefix = "HEALTHSNAP "

type monitorChild struct {
	Socket       string
	Tunnel       tunnel.Config
	Internet     string
	GatewayProbe string
	DNSName      string
	Services     []profile.HealthTarget
	// Portal is the portal's host:port; a TCP listener stands in for it.
	Portal string
}

// netnsTiming settles each case within seconds: short intervals, the
// default hysteresis (two failures confirm).
func netnsTiming() health.Timing {
	return health.Timing{
		Every: map[string]time.Duration{
			health.LocalNetwork:   300 * time.Millisecond,
			health.Internet:       time.Second,
			health.Portal:         500 * time.Millisecond,
			health.Gateway:        300 * time.Millisecond,
			health.OfficeDNS:      500 * time.Millisecond,
			health.OfficeServices: 500 * time.Millisecond,
		},
		Quick:          100 * time.Millisecond,
		Retry:          300 * time.Millisecond,
		IdleRetry:      300 * time.Millisecond,
		Merge:          50 * time.Millisecond,
		Timeout:        2 * time.Second,
		GatewayTimeout: time.Second,
		Slow:           10 * time.Second,
	}
}

// systemTunnel adapts the System engine as the agent does.
type systemTunnel struct{ e *tunnel.System }

func (s systemTunnel) LastHandshake() (time.Time, error) {
	st, err := s.e.Stats()
	return st.LastHandshake, err
}

func (s systemTunnel) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return s.e.DialContext(ctx, network, address)
}

func (s systemTunnel) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	return s.e.LookupHost(ctx, host)
}

// TestHealthMonitorInHome is the monitor's process inside the home
// namespace, started by TestHealthInNamespaces. It runs until its stdin
// closes.
func TestHealthMonitorInHome(t *testing.T) {
	js := os.Getenv(monitorChildEnv)
	if js == "" {
		t.Skip("runs only inside the home namespace of TestHealthInNamespaces")
	}
	var mc monitorChild
	if err := json.Unmarshal([]byte(js), &mc); err != nil {
		t.Fatalf("child options: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	e := tunnel.NewSystem(tunnel.SystemOptions{Socket: mc.Socket})
	// The tunnel is up already; the same config again is a reconnect.
	if err := e.Up(ctx, mc.Tunnel); err != nil {
		t.Fatalf("Up (reconnect): %v", err)
	}
	store := state.NewStore(state.Snapshot{Session: state.Connecting}, time.Now)
	snaps, unsub := store.Subscribe()
	defer unsub()
	// The configuration comes from a profile, as in the agent, so what
	// the profile makes the internet and the portal is what is tested.
	cfg := health.ConfigFromProfile(&profile.Profile{
		PortalURL:       "https://" + mc.Portal + "/",
		InternetTargets: []string{mc.Internet},
		OfficeDNSName:   mc.DNSName,
		HealthTargets:   mc.Services,
		Helpdesk:        profile.Helpdesk{Phone: "05221 0000"},
	})
	cfg.Timing = netnsTiming()
	// The portal's health call, reduced to reaching its host over the
	// home network: the portal client pins a certificate for 127.0.0.1.
	portalUp := health.PortalFunc(func(ctx context.Context) (time.Time, error) {
		c, err := health.HostDial(ctx, "tcp", mc.Portal)
		if err != nil {
			return time.Time{}, err
		}
		c.Close()
		return time.Now(), nil
	})
	m := health.New(health.Deps{
		Store:  store,
		Portal: portalUp,
		Log:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}, cfg)
	go m.Run(ctx)
	// The agent's projection, reduced: the verdict names the session state.
	verdicts, stopVerdicts := m.SubscribeVerdict()
	defer stopVerdicts()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case v := <-verdicts:
				if v.Active && v.Decided {
					store.Update(func(s *state.Snapshot) { s.Session = v.Session })
				}
			}
		}
	}()
	m.SessionStarted(systemTunnel{e}, mc.GatewayProbe)
	out := json.NewEncoder(os.Stdout)
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-snaps:
			os.Stdout.WriteString(snapPrefix)
			if err := out.Encode(s); err != nil {
				return
			}
		}
	}
}

// watcher keeps the child's latest snapshot.
type watcher struct {
	mu   sync.Mutex
	last state.Snapshot
	seen bool
	done chan struct{}
}

func (w *watcher) snapshot() (state.Snapshot, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, w.seen
}

// waitFor waits for a snapshot that satisfies ok. The bound is generous:
// this asserts the eventual state, not how fast it comes.
func (w *watcher) waitFor(tb testing.TB, what string, bound time.Duration, ok func(state.Snapshot) bool) state.Snapshot {
	tb.Helper()
	deadline := time.Now().Add(bound)
	for {
		s, seen := w.snapshot()
		if seen && ok(s) {
			return s
		}
		select {
		case <-w.done:
			tb.Fatalf("monitor process ended while waiting for %s", what)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %s within %s; last state %v, diagnosis %v, links:\n%s", what, bound, s.Session, s.Health.Diagnosis, describeLinks(s))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func describeLinks(s state.Snapshot) string {
	var b strings.Builder
	for _, l := range s.Health.Links {
		b.WriteString("  " + l.Code)
		if l.Target != "" {
			b.WriteString(":" + l.Target)
		}
		b.WriteString(" ok=" + strconv.FormatBool(l.OK) + " skipped=" + strconv.FormatBool(l.Skipped) + " " + l.Detail.Key + "\n")
	}
	return b.String()
}

func diagIs(s state.Snapshot, key string) bool {
	return s.Health.Diagnosis != nil && s.Health.Diagnosis.Key == key
}

// healthy is the state with every link passing.
func healthy(s state.Snapshot) bool {
	if s.Session != state.Connected || s.Health.Diagnosis != nil || len(s.Health.Links) == 0 {
		return false
	}
	for _, l := range s.Health.Links {
		if !l.OK || l.Skipped {
			return false
		}
	}
	return true
}

// startMonitorChild runs TestHealthMonitorInHome in the home namespace.
func startMonitorChild(tb testing.TB, ns string, mc monitorChild) *watcher {
	tb.Helper()
	js, _ := json.Marshal(mc)
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("Executable: %v", err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^TestHealthMonitorInHome$", "-test.count=1")
	cmd.Env = append(os.Environ(), monitorChildEnv+"="+string(js))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("StdinPipe: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("StdoutPipe: %v", err)
	}
	w := &watcher{done: make(chan struct{})}
	var stderr syncWriter
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting the monitor process: %v", err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), snapPrefix)
			if !ok {
				stderr.Write([]byte(sc.Text() + "\n"))
				continue
			}
			var s state.Snapshot
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				continue
			}
			w.mu.Lock()
			w.last, w.seen = s, true
			w.mu.Unlock()
		}
	}()
	go func() {
		<-read
		cmd.Wait()
		close(w.done)
	}()
	tb.Cleanup(func() {
		stdin.Close()
		select {
		case <-w.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-w.done
		}
		if tb.Failed() {
			tb.Logf("monitor process output:\n%s", stderr.String())
		}
	})
	return w
}

type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// listenIn opens a TCP listener in namespace ns that accepts and closes
// connections until the test ends or it is closed.
func listenIn(tb testing.TB, ns, addr string) net.Listener {
	tb.Helper()
	var ln net.Listener
	err := helpertest.InNetns(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		tb.Fatalf("listening on %s in %s: %v", addr, ns, err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// restartGateway starts a gateway again in the office namespace with the
// lab's key, port, interface and intranet, as after an outage. It runs
// until owner ends.
func restartGateway(tb, owner testing.TB, lab *helpertest.Lab) {
	tb.Helper()
	gw := gatewaytest.GatewayAddr
	cfg := gateway.Config{
		PrivateKey: lab.Office.GatewayKey,
		ListenPort: helpertest.GatewayPort,
		Address:    netip.PrefixFrom(gw, 16),
		Peers:      lab.Office.Portal.Server,
		DNS:        gateway.DemoDNS(gw),
		HTTP:       gateway.IntranetHandler("Stadt Musterstadt"),
		Now:        lab.Office.Portal.Clock.Now,
		Kernel:     &gateway.KernelOptions{Interface: "dwgw" + lab.ID},
	}
	var g *gateway.Gateway
	err := helpertest.InNetns(lab.OfficeNS, func() error {
		var err error
		g, err = gateway.Start(context.Background(), cfg)
		return err
	})
	if err != nil {
		tb.Fatalf("restarting the gateway in %s: %v", lab.OfficeNS, err)
	}
	owner.Cleanup(func() { g.Close() })
	lab.Office.Gateway = g
}

// TestHealthInNamespaces breaks one link of the real chain at a time and
// waits for the monitor to name it, then for it to recover by itself.
func TestHealthInNamespaces(t *testing.T) {
	helpertest.NeedRoot(t)
	lab := helpertest.NewLab(t)
	h := lab.StartHelper(t, helpertest.HelperConfig{})
	ctx := context.Background()

	d := lab.Office.Enroll(t, "anna") // authorised for the day on registration
	lab.Office.WaitAdmitted(t, d, true)
	e := tunnel.NewSystem(tunnel.SystemOptions{Socket: h.Socket})
	cfg := tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)
	if err := e.Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Cleanup(func() { e.Down() })

	// The home network's way out is the veth to the office namespace;
	// a listener there stands in for the internet.
	addDefault := func(tb testing.TB) {
		helpertest.Run(tb, "ip", "-n", lab.NS, "route", "replace", "default", "via", helpertest.OfficeVethAddr.String())
	}
	addDefault(t)
	inet := listenIn(t, lab.OfficeNS, net.JoinHostPort(helpertest.OfficeVethAddr.String(), "0"))
	// The portal's host: another listener out there, stopped in one case.
	portalLn := listenIn(t, lab.OfficeNS, net.JoinHostPort(helpertest.OfficeVethAddr.String(), "0"))
	portalAddr := portalLn.Addr().String()
	// A second office service on its own port, closed in one case.
	files := listenIn(t, lab.OfficeNS, ":0")
	filesPort := strconv.Itoa(files.Addr().(*net.TCPAddr).Port)

	w := startMonitorChild(t, lab.NS, monitorChild{
		Socket:   h.Socket,
		Tunnel:   cfg,
		Internet: inet.Addr().String(),
		Portal:   portalAddr,
		// A closed port: the refusal through the tunnel proves the
		// gateway, and stays apart from the DNS port blocked below.
		GatewayProbe: net.JoinHostPort(gatewaytest.GatewayAddr.String(), "9"),
		DNSName:      gateway.DemoIntranetName,
		Services: []profile.HealthTarget{
			{Name: "Intranet", Kind: "http", Address: gatewaytest.IntranetURL},
			{Name: "Akten", Kind: "tcp", Address: net.JoinHostPort(gatewaytest.GatewayAddr.String(), filesPort)},
		},
	})
	const bound = 45 * time.Second
	w.waitFor(t, "connected with every link passing", bound, healthy)

	top := t // what a subtest restores must outlive the subtest
	t.Run("gateway_stopped_and_restarted", func(t *testing.T) {
		lab.Office.Gateway.Close()
		s := w.waitFor(t, "a diagnosis naming the gateway", bound, func(s state.Snapshot) bool {
			return s.Session != state.Connected && diagIs(s, "health.diag."+health.Gateway)
		})
		if s.Session != state.Problem {
			t.Errorf("session with the gateway stopped = %v, want %v", s.Session, state.Problem)
		}
		restartGateway(t, top, lab)
		// A fresh handshake after the gateway lost its session can take
		// WireGuard's rekey timeouts; the bound covers them.
		w.waitFor(t, "connected again after the gateway restarted", bound, healthy)
	})

	t.Run("office_service_down", func(t *testing.T) {
		files.Close()
		s := w.waitFor(t, "limited naming the service", bound, func(s state.Snapshot) bool {
			return s.Session == state.Limited && diagIs(s, health.KeyDiagService)
		})
		if got := s.Health.Diagnosis.Args["Service"]; got != "Akten" {
			t.Errorf("diagnosis names service %q, want Akten", got)
		}
		files = listenIn(top, lab.OfficeNS, ":"+filesPort)
		w.waitFor(t, "connected again with the service back", bound, healthy)
	})

	t.Run("office_dns_blocked", func(t *testing.T) {
		if _, err := exec.LookPath("nft"); err != nil {
			t.Skip("skipping: nft not installed (Debian package nftables), so DNS cannot be blocked")
		}
		table := "dwhealth" + lab.ID
		// A kernel without nf_tables (some containers) cannot block it either.
		if out, err := exec.Command("ip", "netns", "exec", lab.OfficeNS, "nft", "add", "table", "inet", table).CombinedOutput(); err != nil {
			t.Skipf("skipping: nft cannot add a table here, so DNS cannot be blocked: %v %s", err, out)
		}
		t.Cleanup(func() {
			exec.Command("ip", "netns", "exec", lab.OfficeNS, "nft", "delete", "table", "inet", table).Run()
		})
		helpertest.Run(t, "ip", "netns", "exec", lab.OfficeNS, "nft", "add", "chain", "inet", table, "input",
			"{ type filter hook input priority 0 ; policy accept ; }")
		helpertest.Run(t, "ip", "netns", "exec", lab.OfficeNS, "nft", "add", "rule", "inet", table, "input", "udp", "dport", "53", "drop")
		helpertest.Run(t, "ip", "netns", "exec", lab.OfficeNS, "nft", "add", "rule", "inet", table, "input", "tcp", "dport", "53", "drop")
		s := w.waitFor(t, "a diagnosis naming the office DNS", bound, func(s state.Snapshot) bool {
			return diagIs(s, "health.diag."+health.OfficeDNS)
		})
		if s.Session == state.Connected {
			t.Errorf("session with the office DNS blocked = %v, want it to leave Connected", s.Session)
		}
		helpertest.Run(t, "ip", "netns", "exec", lab.OfficeNS, "nft", "delete", "table", "inet", table)
		w.waitFor(t, "connected again with DNS unblocked", bound, healthy)
	})

	// The portal goes away while the gateway stays (issue 13, #10): the
	// chain names the portal, not the internet, and the session through
	// the working tunnel stays up; when the portal is back, all is well.
	t.Run("portal_stopped_gateway_stays", func(t *testing.T) {
		portalLn.Close()
		s := w.waitFor(t, "a diagnosis naming the portal", bound, func(s state.Snapshot) bool {
			return diagIs(s, "health.diag.portal_session")
		})
		if s.Session != state.Connected {
			t.Errorf("session with the portal stopped = %v, want connected", s.Session)
		}
		for _, code := range []string{health.LocalNetwork, health.Internet, health.Gateway, health.OfficeDNS} {
			if l := linkOf(s, code); !l.OK || l.Skipped {
				t.Errorf("link %s with the portal stopped: %+v, want OK", code, l)
			}
		}
		if l := linkOf(s, health.Portal); l.OK {
			t.Errorf("portal link %+v with the portal stopped", l)
		}
		// Over several rounds it stays so: nothing ends or downgrades it.
		for range 10 {
			time.Sleep(300 * time.Millisecond)
			if s, _ := w.snapshot(); s.Session != state.Connected || !diagIs(s, "health.diag.portal_session") {
				t.Fatalf("while the portal is stopped: session %v, diagnosis %v", s.Session, s.Health.Diagnosis)
			}
		}
		listenIn(top, lab.OfficeNS, portalAddr)
		w.waitFor(t, "connected again with the portal back", bound, healthy)
	})

	// The laptop loses its network (the link goes down, as when the
	// Wi-Fi is switched off): the tunnel goes with it, and the chain
	// names the local network.
	t.Run("network_lost", func(t *testing.T) {
		link := "dwvh" + lab.ID
		up := func(tb testing.TB) {
			helpertest.Run(tb, "ip", "-n", lab.NS, "link", "set", link, "up")
			addDefault(tb)
		}
		helpertest.Run(t, "ip", "-n", lab.NS, "link", "set", link, "down")
		t.Cleanup(func() { up(t) })
		w.waitFor(t, "no internet naming the local network", bound, func(s state.Snapshot) bool {
			return s.Session == state.NoInternet && diagIs(s, "health.diag."+health.LocalNetwork)
		})
		up(t)
		w.waitFor(t, "connected again with the network back", bound, healthy)
	})

	// Only the default route goes: the gateway, on the home network's own
	// subnet here, still answers, so the tunnel proves the laptop online
	// and the session is not downgraded by the route check.
	t.Run("no_default_route_gateway_answers", func(t *testing.T) {
		helpertest.Run(t, "ip", "-n", lab.NS, "route", "del", "default")
		t.Cleanup(func() { addDefault(t) })
		s := w.waitFor(t, "the local network link failing", bound, func(s state.Snapshot) bool {
			l := linkOf(s, health.LocalNetwork)
			return !l.OK && !l.Skipped
		})
		if s.Session != state.Connected || s.Health.Diagnosis != nil {
			t.Errorf("session %v, diagnosis %v with a working tunnel, want connected without one", s.Session, s.Health.Diagnosis)
		}
		addDefault(t)
		w.waitFor(t, "all links passing with the route back", bound, healthy)
	})
}

func linkOf(s state.Snapshot, code string) state.Link {
	for _, l := range s.Health.Links {
		if l.Code == code {
			return l
		}
	}
	return state.Link{Code: code, Skipped: true}
}
