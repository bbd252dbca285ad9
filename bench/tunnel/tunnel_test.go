// Package tunnel_test holds the benchmarks of the home-office tunnel:
// click to Connected, throughput through the client engine against two
// plain wireguard-go peers, and the idle cost of a running session.
// Run: go test -run XXX -bench . -benchtime 20x ./bench/tunnel/
package tunnel_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun/netstack"

	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

const blobSize = 32 << 20

// blob serves /blob with blobSize zero bytes, the intranet elsewhere.
func blobHandler() http.Handler {
	mux := http.NewServeMux()
	zero := make([]byte, 64<<10)
	mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(blobSize))
		for n := 0; n < blobSize; n += len(zero) {
			w.Write(zero)
		}
	})
	mux.Handle("/", gateway.IntranetHandler("Stadt Musterstadt"))
	return mux
}

func download(b *testing.B, dial func(ctx context.Context, network, addr string) (net.Conn, error), url string) {
	c := &http.Client{Transport: &http.Transport{DialContext: dial}}
	resp, err := c.Get(url)
	if err != nil {
		b.Fatalf("GET: %v", err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != blobSize {
		b.Fatalf("downloaded %d bytes, %v", n, err)
	}
}

func newSession(b *testing.B, o *gatewaytest.Office, d *gatewaytest.Device, e session.Engine) *session.Controller {
	c, err := session.New(session.Options{
		Portal:   o.Portal.Client(b, nil),
		Keys:     session.StaticKeys{Private: d.PrivateKey, Cred: d.Credential},
		Engine:   e,
		CheckURL: gatewaytest.IntranetURL,
		Now:      o.Portal.Clock.Now,
	})
	if err != nil {
		b.Fatalf("session.New: %v", err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkClickToConnected: code entered → portal authorisation → key →
// engine up → handshake → first GET of the intranet → Connected.
func BenchmarkClickToConnected(b *testing.B) {
	o := gatewaytest.Start(b, gatewaytest.Options{})
	d := o.Enroll(b, "anna")
	e := tunnel.NewUserspace(tunnel.UserspaceOptions{})
	c := newSession(b, o, d, e)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		code := d.NextCode(b)
		b.StartTimer()
		if err := c.Start(ctx, code); err != nil {
			b.Fatalf("Start: %v", err)
		}
		if s := c.Status().Phase; s != state.Connected {
			b.Fatalf("state %v", s)
		}
		b.StopTimer()
		c.End(ctx)
		b.StartTimer()
	}
}

// BenchmarkThroughputClientEngine downloads through the client engine
// from the gateway's netstack: the product path.
func BenchmarkThroughputClientEngine(b *testing.B) {
	o := gatewaytest.Start(b, gatewaytest.Options{Gateway: func(c *gateway.Config) { c.HTTP = blobHandler() }})
	d := o.Enroll(b, "anna")
	e := tunnel.NewUserspace(tunnel.UserspaceOptions{})
	if err := e.Up(context.Background(), tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)); err != nil {
		b.Fatalf("Up: %v", err)
	}
	defer e.Down()
	download(b, e.DialContext, "http://10.77.0.1/blob") // warm up, handshake
	b.SetBytes(blobSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		download(b, e.DialContext, "http://10.77.0.1/blob")
	}
}

// BenchmarkThroughputPlainWireguardGo is the baseline: two bare
// wireguard-go netstack peers in this process, the same download.
func BenchmarkThroughputPlainWireguardGo(b *testing.B) {
	k1, _ := wgconf.NewPrivateKey()
	k2, _ := wgconf.NewPrivateKey()
	p1, _ := wgconf.PublicKey(k1)
	p2, _ := wgconf.PublicKey(k2)
	hx := func(k string) string { h, _ := wgconf.HexKey(k); return h }
	peer := func(addr, priv, peerPub, peerAllowed, devExtra, peerExtra string) (*device.Device, *netstack.Net) {
		tdev, tnet, err := netstack.CreateNetTUN([]netip.Addr{netip.MustParseAddr(addr)}, nil, 1420)
		if err != nil {
			b.Fatalf("CreateNetTUN: %v", err)
		}
		dev := device.NewDevice(tdev, conn.NewDefaultBind(), device.NewLogger(device.LogLevelSilent, ""))
		cfg := fmt.Sprintf("private_key=%s\n%spublic_key=%s\nallowed_ip=%s\n%s", hx(priv), devExtra, hx(peerPub), peerAllowed, peerExtra)
		if err := dev.IpcSet(cfg); err != nil {
			b.Fatalf("IpcSet: %v", err)
		}
		dev.Up()
		b.Cleanup(dev.Close)
		return dev, tnet
	}
	srv, srvNet := peer("10.78.0.1", k1, p2, "10.78.0.2/32", "listen_port=0\n", "")
	s, _ := srv.IpcGet()
	sd, err := wgconf.ParseUAPI(s)
	if err != nil {
		b.Fatalf("ParseUAPI: %v", err)
	}
	// The server's port is known only now; the client's peer gets it as
	// endpoint, as the client engine does.
	ep := fmt.Sprintf("endpoint=127.0.0.1:%d\n", sd.ListenPort)
	_, cliNet := peer("10.78.0.2", k2, p1, "10.78.0.0/16", "", ep)
	ln, err := srvNet.ListenTCPAddrPort(netip.MustParseAddrPort("10.78.0.1:80"))
	if err != nil {
		b.Fatalf("ListenTCP: %v", err)
	}
	hs := &http.Server{Handler: blobHandler()}
	go hs.Serve(ln)
	defer hs.Close()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return cliNet.DialContextTCPAddrPort(ctx, netip.MustParseAddrPort("10.78.0.1:80"))
	}
	download(b, dial, "http://10.78.0.1/blob")
	b.SetBytes(blobSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		download(b, dial, "http://10.78.0.1/blob")
	}
}

// BenchmarkIdleSession reports RSS and CPU while a session is up and
// idle for 30 s (portal, gateway and client share the process, so the CPU
// figure is an upper bound for the agent's part).
func BenchmarkIdleSession(b *testing.B) {
	if b.N > 1 {
		b.Skip("one run is the measurement: use -bench IdleSession -benchtime 1x")
	}
	o := gatewaytest.Start(b, gatewaytest.Options{})
	d := o.Enroll(b, "anna")
	rssBefore := rssKB(b)
	e := tunnel.NewUserspace(tunnel.UserspaceOptions{SOCKSAddr: "127.0.0.1:0"})
	c := newSession(b, o, d, e)
	if err := c.Start(context.Background(), d.NextCode(b)); err != nil {
		b.Fatalf("Start: %v", err)
	}
	if c.Status().Phase != state.Connected {
		b.Fatalf("not connected")
	}
	idle := 30 * time.Second
	if v := os.Getenv("IDLE_SECONDS"); v != "" {
		n, _ := strconv.Atoi(v)
		idle = time.Duration(n) * time.Second
	}
	cpu0 := cpuTime()
	time.Sleep(idle)
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(rssKB(b))/1024, "rss_MiB")
	b.ReportMetric(float64(rssKB(b)-rssBefore)/1024, "rss_delta_session_MiB")
	b.ReportMetric(100*cpu.Seconds()/idle.Seconds(), "cpu_%_of_core")
}

func rssKB(b *testing.B) int {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func TestMain(m *testing.M) {
	// Keep benchmark output readable: the components log at info.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}
