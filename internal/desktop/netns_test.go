//go:build linux

// The office desktop through the real tunnel (issue 20, "Real test"):
// the helper's kernel TUN in a home namespace, the gateway in an office
// namespace, and behind it, in a desk namespace of its own, Debian's
// xrdp. FreeRDP connects from the home namespace with the arguments the
// button builds, under the test's Xvfb, and the test looks at what it
// shows. The same desk then loses large packets on the way back (a link
// with a smaller MTU that drops instead of answering), and the health
// probe must say so while small requests still pass.

package desktop_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"image"
	"image/png"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/desktop"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/helper/helpertest"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// TestHelperChild is the helper process of the namespace test.
func TestHelperChild(t *testing.T) { helpertest.Child(t) }

// The desk network behind the gateway: the office's side and the desk.
const (
	officeDeskAddr = "10.77.1.1"
	deskAddr       = "10.77.1.2"
)

// xrdpBlue is the login screen's background (xrdp.ini "blue" and
// ls_top_window_bg_color below): what FreeRDP shows when it shows the
// remote session.
const xrdpBlue = 0x009cb5

// needTools fails, in CI and here alike, when a program the test runs
// is missing, naming the Debian package (scripts/deps.sh installs it).
func needTools(tb testing.TB) {
	tb.Helper()
	for prog, pkg := range map[string]string{"xrdp": "xrdp", "xfreerdp": "freerdp2-x11", "import": "imagemagick", "xwininfo": "x11-utils"} {
		if _, err := exec.LookPath(prog); err != nil {
			tb.Fatalf("%s is not installed: install the Debian package %s (scripts/deps.sh)", prog, pkg)
		}
	}
	if os.Getenv("DISPLAY") == "" {
		tb.Fatal("no DISPLAY: run the test inside scripts/testenv.sh, which starts Xvfb")
	}
}

func TestOfficeDesktopThroughTheTunnel(t *testing.T) {
	helpertest.NeedRoot(t)
	needTools(t)
	lab := helpertest.NewLab(t)
	h := lab.StartHelper(t, helpertest.HelperConfig{})
	ctx := context.Background()
	d := lab.Office.Enroll(t, "anna")
	lab.Office.WaitAdmitted(t, d, true)
	e := tunnel.NewSystem(tunnel.SystemOptions{Socket: h.Socket})
	if err := e.Up(ctx, tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)); err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Cleanup(func() { e.Down() })

	deskNS, officeVeth := deskNamespace(t, lab)
	fp := startXRDP(t, deskNS)
	desk := profile.OfficeDesktop{Name: "Arbeitsplatz Bürgerbüro", Kind: profile.DesktopRDP, Address: deskAddr, CertSHA256: fp}

	probe := func(tb testing.TB) health.Result {
		tb.Helper()
		var r health.Result
		err := helpertest.InNetns(lab.NS, func() error {
			pctx, cancel := context.WithTimeout(ctx, 4*time.Second)
			defer cancel()
			r = health.ProbeDesktop(pctx, dialHere, desk, 2*time.Second)
			return nil
		})
		if err != nil {
			tb.Fatalf("probing in %s: %v", lab.NS, err)
		}
		return r
	}
	start := time.Now()
	r := probe(t)
	for !r.OK && time.Since(start) < 20*time.Second { // xrdp starting
		time.Sleep(200 * time.Millisecond)
		r = probe(t)
	}
	if !r.OK {
		t.Fatalf("probe through the tunnel: %s %v, want OK", r.Detail.Key, r.Detail.Args)
	}
	t.Logf("office desktop through the tunnel answers in %v (small request and TLS handshake)", r.Latency)

	t.Run("freerdp_shows_the_remote_login", func(t *testing.T) {
		shot := openAsTheButtonDoes(t, lab.NS, desk)
		share := blueShare(t, shot)
		t.Logf("screenshot %s: %.0f %% of it is the remote login screen's blue", shot, share*100)
		if share < 0.3 {
			t.Errorf("the FreeRDP window shows %.0f %% of xrdp's blue, want the remote login screen", share*100)
		}
		if dir := os.Getenv("DIENSTWEG_SCREENSHOTS"); dir != "" {
			copyFile(t, shot, filepath.Join(dir, "office-desktop-rdp.png"))
		}
	})

	t.Run("wrong_certificate_is_refused", func(t *testing.T) {
		wrong := desk
		wrong.CertSHA256 = strings.Repeat("00", 32)
		plan, err := desktop.Choose(wrong, freerdpOnly())
		if err != nil {
			t.Fatalf("Choose: %v", err)
		}
		out, err := runInNS(lab.NS, t.TempDir(), plan.Argv, 30*time.Second)
		if err == nil || !strings.Contains(out, "ERRCONNECT_TLS_CONNECT_FAILED") {
			t.Fatalf("FreeRDP with a certificate that is not the profile's: %v, want a refused TLS connection:\n%s", err, out)
		}
	})

	t.Run("large_packets_lost_on_the_way_back", func(t *testing.T) {
		// The office's side of the desk link takes at most 1200 bytes:
		// what the desk sends bigger (its TLS certificate flight) is
		// dropped without a "fragmentation needed" going back, as on a
		// path whose ICMP is filtered. Without segmentation offload the
		// desk sends real full-size frames, not one big one that the
		// check would let through.
		helpertest.Run(t, "ip", "-n", deskNS, "link", "set", "dwdd"+lab.ID, "gso_max_segs", "1")
		helpertest.Run(t, "ip", "-n", lab.OfficeNS, "link", "set", officeVeth, "mtu", "1200")
		restored := false
		restore := func() {
			if !restored {
				helpertest.Run(t, "ip", "-n", lab.OfficeNS, "link", "set", officeVeth, "mtu", "1500")
				restored = true
			}
		}
		t.Cleanup(restore)
		r := probe(t)
		if r.OK || r.Detail.Key != health.KeyLargeFrames || r.Diag != health.KeyDiagDesktopMTU {
			t.Fatalf("probe with large packets lost: ok=%v %s diag %q, want %s", r.OK, r.Detail.Key, r.Diag, health.KeyLargeFrames)
		}
		restore()
		if r := probe(t); !r.OK {
			t.Fatalf("probe after the MTU is fixed: %s", r.Detail.Key)
		}
	})

	t.Run("desktop_switched_off", func(t *testing.T) {
		helpertest.Run(t, "ip", "-n", deskNS, "link", "set", "dwdd"+lab.ID, "down")
		r := probe(t)
		if r.OK || r.Diag != "" || (r.Detail.Key != health.KeyTimeout && r.Detail.Key != health.KeyNoRoute) {
			t.Fatalf("probe with the desk gone: ok=%v %s diag %q, want the check's own 'does not answer'", r.OK, r.Detail.Key, r.Diag)
		}
	})
}

// dialHere dials from the calling thread's namespace (helpertest.InNetns).
func dialHere(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// deskNamespace makes the desk's namespace behind the office, routed by
// the office namespace, and returns it with the office's side of the link.
func deskNamespace(tb testing.TB, lab *helpertest.Lab) (ns, officeVeth string) {
	tb.Helper()
	ns = "dwdesk-" + lab.ID
	helpertest.Run(tb, "ip", "netns", "add", ns)
	tb.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	helpertest.Run(tb, "ip", "-n", ns, "link", "set", "lo", "up")
	officeVeth, deskVeth := "dwdo"+lab.ID, "dwdd"+lab.ID
	helpertest.Run(tb, "ip", "link", "add", officeVeth, "netns", lab.OfficeNS, "type", "veth", "peer", "name", deskVeth, "netns", ns)
	helpertest.Run(tb, "ip", "-n", lab.OfficeNS, "addr", "add", officeDeskAddr+"/24", "dev", officeVeth)
	helpertest.Run(tb, "ip", "-n", ns, "addr", "add", deskAddr+"/24", "dev", deskVeth)
	helpertest.Run(tb, "ip", "-n", lab.OfficeNS, "link", "set", officeVeth, "up")
	helpertest.Run(tb, "ip", "-n", ns, "link", "set", deskVeth, "up")
	helpertest.Run(tb, "ip", "-n", ns, "route", "add", "default", "via", officeDeskAddr)
	helpertest.Run(tb, "ip", "netns", "exec", lab.OfficeNS, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	return ns, officeVeth
}

// startXRDP runs xrdp in ns on deskAddr:3389 with a key and certificate
// made for this test in a temp dir, without systemd and without
// xrdp-sesman: the login screen is xrdp's own; a session after the login
// would need sesman and an X server, which this test does not reach.
// It returns the certificate's SHA-256 fingerprint.
func startXRDP(tb testing.TB, ns string) string {
	tb.Helper()
	dir := tb.TempDir()
	certPEM, keyPEM, fp := makeCert(tb)
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			tb.Fatal(err)
		}
		return p
	}
	cert, key := write("cert.pem", certPEM), write("key.pem", keyPEM)
	ini := write("xrdp.ini", fmt.Sprintf(`[Globals]
ini_version=1
fork=false
port=tcp://%s:3389
security_layer=tls
crypt_level=high
certificate=%s
key_file=%s
ssl_protocols=TLSv1.2, TLSv1.3
max_bpp=24
allow_channels=true
blue=%06x
ls_top_window_bg_color=%06x
ls_title=Stadt Musterstadt – Arbeitsplatz
[Logging]
LogFile=%s
LogLevel=INFO
EnableSyslog=false
EnableConsole=true
ConsoleLevel=INFO
[Channels]
rdpdr=true
rdpsnd=true
drdynvc=true
cliprdr=true
rail=true
xrdpvr=true
tcutils=true
[Xvnc]
name=Xvnc
lib=libvnc.so
username=ask
password=ask
ip=127.0.0.1
port=-1
`, deskAddr, cert, key, xrdpBlue, xrdpBlue, filepath.Join(dir, "xrdp.log")))
	cmd := exec.Command("ip", "netns", "exec", ns, "xrdp", "--nodaemon", "--config", ini)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting xrdp: %v", err)
	}
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if tb.Failed() {
			tb.Logf("xrdp output:\n%s", out.String())
		}
	})
	return fp
}

// makeCert is the desk's RSA 3072 certificate: its TLS flight is well
// beyond one full-size packet, as a real one with its chain is.
func makeCert(tb testing.TB) (certPEM, keyPEM, fingerprint string) {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(20), Subject: pkix.Name{CommonName: "arbeitsplatz.musterstadt.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
		hex.EncodeToString(sum[:])
}

// freerdpOnly makes Choose find FreeRDP and not a Remmina that may be
// installed on the machine, so the button's FreeRDP arguments are tested.
func freerdpOnly() desktop.Env {
	return desktop.Env{GOOS: "linux", Getenv: func(string) string { return "" }, LookPath: func(name string) (string, error) {
		if name != "xfreerdp" {
			return "", exec.ErrNotFound
		}
		return exec.LookPath(name)
	}}
}

// runInNS runs argv in ns with a fresh HOME (FreeRDP's known hosts) and
// returns its output once it ends or after limit.
func runInNS(ns, home string, argv []string, limit time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, "env", "HOME=" + home}, argv...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// openAsTheButtonDoes starts FreeRDP with the button's plan in the home
// namespace, waits for its window and its first frames, and returns a
// screenshot of the window.
func openAsTheButtonDoes(tb testing.TB, ns string, d profile.OfficeDesktop) string {
	tb.Helper()
	plan, err := desktop.Choose(d, freerdpOnly())
	if err != nil {
		tb.Fatalf("Choose: %v", err)
	}
	if plan.Client != desktop.ClientXFreeRDP || !strings.HasPrefix(plan.Argv[len(plan.Argv)-3], "/cert:fingerprint:sha256:") {
		tb.Fatalf("plan %+v: want FreeRDP pinning the certificate", plan)
	}
	tb.Logf("the button runs: %q", plan.Argv)
	home := tb.TempDir()
	plan.Argv = append([]string{"ip", "netns", "exec", ns, "env", "HOME=" + home}, plan.Argv...)
	logPath := filepath.Join(tb.TempDir(), "freerdp.log")
	log, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer log.Close()
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := desktop.Start(ctx, plan, "", log)
	if err != nil {
		cancel()
		tb.Fatalf("Start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- wait() }()
	tb.Cleanup(func() {
		cancel()
		<-exited
		if tb.Failed() {
			b, _ := os.ReadFile(logPath)
			tb.Logf("FreeRDP output:\n%s", b)
		}
	})
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for id == "" {
		select {
		case err := <-exited:
			exited <- err
			tb.Fatalf("FreeRDP ended before its window appeared: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatal("no FreeRDP window within 30 s")
		}
		id = windowID(d.Name)
		time.Sleep(200 * time.Millisecond)
	}
	shot := filepath.Join(tb.TempDir(), "office-desktop-rdp.png")
	// The login screen comes in a few frames after the window maps.
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		if out, err := exec.Command("import", "-window", id, shot).CombinedOutput(); err != nil {
			tb.Fatalf("import: %v\n%s", err, out)
		}
		if blueShare(tb, shot) >= 0.3 {
			break
		}
	}
	return shot
}

// windowID finds the top-level window whose title contains title.
func windowID(title string) string {
	out, err := exec.Command("xwininfo", "-root", "-tree").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, title) {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "0x") {
				return f[0]
			}
		}
	}
	return ""
}

// blueShare is the share of the screenshot's pixels in xrdp's blue.
func blueShare(tb testing.TB, path string) float64 {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		tb.Fatalf("decoding %s: %v", path, err)
	}
	return share(img, xrdpBlue)
}

func share(img image.Image, rgb uint32) float64 {
	b := img.Bounds()
	n, hit := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			n++
			if near(r>>8, rgb>>16&0xff) && near(g>>8, rgb>>8&0xff) && near(bl>>8, rgb&0xff) {
				hit++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(hit) / float64(n)
}

func near(a, b uint32) bool { return a+8 >= b && b+8 >= a }

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("screenshot kept as %s", to)
}
