// The helper runs in its own network namespace ("home", with its own
// resolv.conf), joined by veth to an "office" namespace where the real
// gateway runs in kernel TUN mode with the demo intranet, backed by the
// real portal. The helper is a real process (this test binary re-executed
// inside the namespace), so a test can kill -9 it.

package helpertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/dienstweg/dienstweg/internal/helper"
	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// Addresses on the veth between home and office. They exist only inside
// the test's own namespaces.
var (
	OfficeVethAddr = netip.MustParseAddr("10.203.0.1")
	HomeVethAddr   = netip.MustParseAddr("10.203.0.2")
)

// GatewayPort is the gateway's UDP port in the office namespace.
const GatewayPort = 51820

// HomeResolvConf is the home namespace's resolv.conf before any session.
const HomeResolvConf = "# home network of a dienstweg test\nnameserver 127.0.0.1\nsearch home.arpa\n"

// NeedRoot skips without root, /dev/net/tun or the tools, except in CI,
// where a missing precondition fails the test.
func NeedRoot(tb testing.TB, tools ...string) {
	tb.Helper()
	miss := func(reason string) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("precondition missing in CI: %s", reason)
		}
		tb.Skipf("skipping: %s", reason)
	}
	if os.Geteuid() != 0 {
		miss("needs root for network namespaces and TUN devices")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		miss("no /dev/net/tun: " + err.Error())
	}
	for _, t := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(t); err != nil {
			miss(t + " not installed (Debian packages iproute2, curl)")
		}
	}
}

// Uniq is a short random id for names that must not collide between
// tests running at the same time.
func Uniq() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Run runs a command and fails the test if it fails.
func Run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Home is a network namespace with its own resolv.conf (which
// `ip netns exec` mounts over /etc/resolv.conf).
type Home struct {
	ID string
	NS string
	// ResolvConf is the host path of the namespace's /etc/resolv.conf.
	ResolvConf string
}

// NewHome makes a home namespace, removed when the test ends.
func NewHome(tb testing.TB) *Home {
	tb.Helper()
	id := Uniq()
	h := &Home{ID: id, NS: "dwhome-" + id}
	Run(tb, "ip", "netns", "add", h.NS)
	tb.Cleanup(func() {
		exec.Command("ip", "netns", "del", h.NS).Run()
		os.RemoveAll(filepath.Join("/etc/netns", h.NS))
	})
	Run(tb, "ip", "-n", h.NS, "link", "set", "lo", "up")
	// Without duplicate address detection, a link's IPv6 routes appear at
	// once, so a snapshot does not catch them half way.
	Run(tb, "ip", "netns", "exec", h.NS, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	dir := filepath.Join("/etc/netns", h.NS)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("creating %s: %v", dir, err)
	}
	h.ResolvConf = filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(h.ResolvConf, []byte(HomeResolvConf), 0o644); err != nil {
		tb.Fatalf("writing resolv.conf: %v", err)
	}
	return h
}

// Exec runs a command inside the home namespace (with its resolv.conf)
// and returns its combined output.
func (h *Home) Exec(name string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...).CombinedOutput()
	return string(out), err
}

// Snapshot is what the helper may change in the home namespace.
type Snapshot struct {
	Links      []string
	Routes     string
	ResolvConf string
}

// Snapshot reads links, all routes (IPv4 and IPv6, every table) and
// resolv.conf.
func (h *Home) Snapshot(tb testing.TB) Snapshot {
	tb.Helper()
	var s Snapshot
	for _, l := range strings.Split(strings.TrimSpace(Run(tb, "ip", "-n", h.NS, "-o", "link", "show")), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 {
			s.Links = append(s.Links, strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0])
		}
	}
	slices.Sort(s.Links)
	s.Routes = Run(tb, "ip", "-n", h.NS, "-4", "route", "show", "table", "all") +
		Run(tb, "ip", "-n", h.NS, "-6", "route", "show", "table", "all")
	b, err := os.ReadFile(h.ResolvConf)
	if err != nil {
		tb.Fatalf("reading resolv.conf: %v", err)
	}
	s.ResolvConf = string(b)
	return s
}

// Diff describes how s differs from want, or "" if it does not.
func (s Snapshot) Diff(want Snapshot) string {
	var b strings.Builder
	if !slices.Equal(s.Links, want.Links) {
		fmt.Fprintf(&b, "links %v, want %v\n", s.Links, want.Links)
	}
	if s.Routes != want.Routes {
		fmt.Fprintf(&b, "routes:\n%s\nwant:\n%s\n", s.Routes, want.Routes)
	}
	if s.ResolvConf != want.ResolvConf {
		fmt.Fprintf(&b, "resolv.conf:\n%s\nwant:\n%s\n", s.ResolvConf, want.ResolvConf)
	}
	return b.String()
}

// Lab is a home namespace joined to an office namespace with the
// gateway (kernel TUN mode), its intranet and the portal.
type Lab struct {
	*Home
	OfficeNS string
	Office   *gatewaytest.Office
	// Hits counts requests that reached the intranet.
	Hits *atomic.Int64
}

// NewLab builds a lab that is torn down when the test ends.
func NewLab(tb testing.TB) *Lab {
	tb.Helper()
	h := NewHome(tb)
	l := &Lab{Home: h, OfficeNS: "dwoffice-" + h.ID, Hits: new(atomic.Int64)}
	Run(tb, "ip", "netns", "add", l.OfficeNS)
	tb.Cleanup(func() { exec.Command("ip", "netns", "del", l.OfficeNS).Run() })
	Run(tb, "ip", "-n", l.OfficeNS, "link", "set", "lo", "up")
	vh, vo := "dwvh"+h.ID, "dwvo"+h.ID
	Run(tb, "ip", "link", "add", vh, "netns", h.NS, "type", "veth", "peer", "name", vo, "netns", l.OfficeNS)
	Run(tb, "ip", "-n", h.NS, "addr", "add", HomeVethAddr.String()+"/30", "dev", vh)
	Run(tb, "ip", "-n", l.OfficeNS, "addr", "add", OfficeVethAddr.String()+"/30", "dev", vo)
	Run(tb, "ip", "-n", h.NS, "link", "set", vh, "up")
	Run(tb, "ip", "-n", l.OfficeNS, "link", "set", vo, "up")
	l.Office = startOffice(tb, l)
	return l
}

// startOffice runs the portal here and the gateway in the office
// namespace: gateway.Start creates its TUN device and opens its sockets
// on the calling thread, so it runs on a thread switched into that
// namespace; the sockets stay there.
func startOffice(tb testing.TB, l *Lab) *gatewaytest.Office {
	tb.Helper()
	key, err := wgconf.NewPrivateKey()
	if err != nil {
		tb.Fatalf("NewPrivateKey: %v", err)
	}
	pub, _ := wgconf.PublicKey(key)
	gwAddr := gatewaytest.GatewayAddr
	tcfg := portaltest.Tunnel()
	tcfg.First = netip.MustParseAddr("10.77.0.10")
	tcfg.GatewayPublicKey = pub
	tcfg.DNS = []netip.Addr{gwAddr}
	tcfg.GatewayEndpoint = netip.AddrPortFrom(OfficeVethAddr, GatewayPort).String()
	env := portaltest.Start(tb, portaltest.Options{Config: portalsrv.Config{Tunnel: tcfg}})
	intranet := gateway.IntranetHandler("Stadt Musterstadt")
	gcfg := gateway.Config{
		PrivateKey: key,
		ListenPort: GatewayPort,
		Address:    netip.PrefixFrom(gwAddr, 16),
		Peers:      env.Server,
		DNS:        gateway.DemoDNS(gwAddr),
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l.Hits.Add(1)
			intranet.ServeHTTP(w, r)
		}),
		Now:    env.Clock.Now,
		Kernel: &gateway.KernelOptions{Interface: "dwgw" + l.ID},
	}
	var gw *gateway.Gateway
	err = InNetns(l.OfficeNS, func() error {
		var err error
		gw, err = gateway.Start(context.Background(), gcfg)
		return err
	})
	if err != nil {
		tb.Fatalf("starting the gateway in %s: %v", l.OfficeNS, err)
	}
	tb.Cleanup(func() { gw.Close() })
	return &gatewaytest.Office{Portal: env, Gateway: gw, GatewayKey: key}
}

// InNetns runs f on an OS thread switched into the named namespace.
// Sockets and devices f creates stay in that namespace.
func InNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- err
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			// The thread stays locked and dies with this goroutine, so
			// no other code runs in the wrong namespace.
			errc <- fmt.Errorf("returning to the original namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// HelperConfig changes the defaults of StartHelper.
type HelperConfig struct {
	// SocketMode default 0660.
	SocketMode os.FileMode
	// Group default "-" (none).
	Group     string
	AllowUIDs []int
	// Dir holds socket and state; "" makes one (world-traversable, so
	// another uid can reach the socket and be refused by the helper).
	Dir string
}

// Helper is a running helper process.
type Helper struct {
	Socket    string
	StateDir  string
	Interface string
	Dir       string

	cfg  HelperConfig
	home *Home
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const childEnv = "DIENSTWEG_TEST_HELPER_CHILD"

type childOptions struct {
	Socket     string
	SocketMode os.FileMode
	Group      string
	AllowUIDs  []int
	StateDir   string
	Interface  string
}

// StartHelper runs the helper in the home namespace: this test binary
// again, running only TestHelperChild, which must call Child.
func (h *Home) StartHelper(tb testing.TB, cfg HelperConfig) *Helper {
	tb.Helper()
	if cfg.Group == "" {
		cfg.Group = "-"
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "dwhelper-")
		if err != nil {
			tb.Fatalf("MkdirTemp: %v", err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			tb.Fatalf("Chmod: %v", err)
		}
		cfg.Dir = dir
	}
	hp := &Helper{
		Socket: filepath.Join(cfg.Dir, "helper.sock"), StateDir: filepath.Join(cfg.Dir, "state"),
		Interface: "dwtun" + h.ID, Dir: cfg.Dir, cfg: cfg, home: h,
	}
	hp.start(tb)
	return hp
}

func (hp *Helper) start(tb testing.TB) {
	tb.Helper()
	opts, _ := json.Marshal(childOptions{
		Socket: hp.Socket, SocketMode: hp.cfg.SocketMode, Group: hp.cfg.Group, AllowUIDs: hp.cfg.AllowUIDs,
		StateDir: hp.StateDir, Interface: hp.Interface,
	})
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("Executable: %v", err)
	}
	hp.out = &syncBuffer{}
	hp.cmd = exec.Command("ip", "netns", "exec", hp.home.NS, exe, "-test.run=^TestHelperChild$", "-test.count=1")
	hp.cmd.Env = append(os.Environ(), childEnv+"="+string(opts))
	hp.cmd.Stdout, hp.cmd.Stderr = hp.out, hp.out
	if err := hp.cmd.Start(); err != nil {
		tb.Fatalf("starting helper: %v", err)
	}
	hp.done = make(chan struct{})
	go func() { hp.cmd.Wait(); close(hp.done) }()
	tb.Cleanup(func() {
		hp.Stop(tb)
		if tb.Failed() {
			tb.Logf("helper output:\n%s", hp.out.String())
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", hp.Socket); err == nil {
			c.Close()
			return
		}
		select {
		case <-hp.done:
			tb.Fatalf("helper exited before it was ready:\n%s", hp.out.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("helper did not open %s:\n%s", hp.Socket, hp.out.String())
		}
	}
}

// Output is what the helper logged so far.
func (hp *Helper) Output() string { return hp.out.String() }

// Stop ends the helper with SIGTERM and waits; it is idempotent.
func (hp *Helper) Stop(tb testing.TB) {
	tb.Helper()
	select {
	case <-hp.done:
		return
	default:
	}
	hp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-hp.done:
	case <-time.After(30 * time.Second):
		hp.cmd.Process.Kill()
		<-hp.done
		tb.Errorf("helper did not stop on SIGTERM")
	}
}

// Kill9 kills the helper with SIGKILL, as a crash, and waits for it.
func (hp *Helper) Kill9(tb testing.TB) {
	tb.Helper()
	if err := hp.cmd.Process.Kill(); err != nil {
		tb.Fatalf("kill -9 helper: %v", err)
	}
	<-hp.done
}

// Restart starts the helper again with the same socket, state and
// interface, as systemd does after a crash.
func (hp *Helper) Restart(tb testing.TB) {
	tb.Helper()
	hp.start(tb)
}

// Child is the helper process's side. Call it from a test named
// TestHelperChild; outside a helper process it skips.
func Child(t *testing.T) {
	js := os.Getenv(childEnv)
	if js == "" {
		t.Skip("runs only as the helper process of a namespace test")
	}
	var o childOptions
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		fmt.Fprintln(os.Stderr, "helper child options:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := helper.Run(ctx, helper.Options{
		Socket: o.Socket, SocketMode: o.SocketMode, Group: o.Group, AllowUIDs: o.AllowUIDs,
		StateDir: o.StateDir, Interface: o.Interface, DNS: helper.DNSFile,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
