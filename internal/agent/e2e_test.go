package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"image"
	"image/png"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/profile"
)

// binary and uiBinary are dienstweg and dienstweg-ui, built once for these
// tests into one directory, as they are installed: the agent finds its
// windows' program beside itself.
var binary, uiBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dwbin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "dienstweg")
	uiBinary = filepath.Join(dir, UIName)
	for exe, pkg := range map[string]string{binary: "../../app", uiBinary: "../../app/ui"} {
		if out, err := exec.Command("go", "build", "-o", exe, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func skipOrFatal(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format+" (skipping outside CI; run under scripts/testenv.sh)", args...)
}

func needDisplay(tb testing.TB) {
	tb.Helper()
	if os.Getenv("DISPLAY") == "" {
		skipOrFatal(tb, "no X display: DISPLAY is not set")
	}
	for _, tool := range []string{"xwininfo", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFatal(tb, "%s not found (Debian packages x11-utils, imagemagick)", tool)
		}
	}
}

// testProfile writes a valid organisation profile with a CA of its own.
func testProfile(tb testing.TB) (string, *profile.Profile) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	p := &profile.Profile{
		Organisation:  "Stadt Teststadt",
		PortalURL:     "https://127.0.0.1:9/",
		PortalCA:      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Helpdesk:      profile.Helpdesk{Phone: "0123 456"},
		OfficeDNSName: "intranet.teststadt.example",
	}
	data, err := json.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "profile.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path, p
}

// socketPath is short enough for a unix socket.
func socketPath(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "dwsock")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "run", "agent.sock")
}

type agentProc struct {
	cmd  *exec.Cmd
	out  *syncWriter // over a *bytes.Buffer
	done chan error
}

// output is what the agent wrote to stdout and stderr so far.
func (p *agentProc) output() string {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.w.(*bytes.Buffer).String()
}

// startAgent runs the built binary as the agent, in German, and stops it
// when the test ends.
func startAgent(tb testing.TB, socket, profilePath string, extra ...string) *agentProc {
	tb.Helper()
	args := append([]string{"agent", "--profile", profilePath, "--socket", socket, "--lang", "de", "--log-level", "debug"}, extra...)
	cmd := exec.Command(binary, args...)
	stateDir := tb.TempDir()
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+stateDir, "LANG=de_DE.UTF-8")
	// One writer for both, so that exec copies them in one goroutine.
	out := &syncWriter{w: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting agent: %v", err)
	}
	p := &agentProc{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if tb.Failed() {
			logs, _ := os.ReadFile(filepath.Join(stateDir, "dienstweg", "dienstweg.log"))
			tb.Logf("agent log with its windows' output:\n%s", logs)
		}
	})
	return p
}

// windows lists top-level X windows titled like title, as id strings.
func windows(tb testing.TB, title string) []string {
	tb.Helper()
	// xwininfo walks the tree window by window; one closing meanwhile (a
	// ui process's helper window at start) fails the walk with "Bad
	// Window" or "Bad Drawable". That listing is stale, not wrong: list again.
	var out []byte
	var err error
	for attempt := 0; ; attempt++ {
		out, err = exec.Command("xwininfo", "-root", "-tree").CombinedOutput()
		raced := bytes.Contains(out, []byte("Bad Window")) || bytes.Contains(out, []byte("Bad Drawable"))
		if err == nil || !raced || attempt == 9 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("xwininfo: %v: %s", err, out)
	}
	re := regexp.MustCompile(`(?m)^\s+(0x[0-9a-f]+) "` + regexp.QuoteMeta(title) + `"`)
	var ids []string
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func waitWindow(tb testing.TB, ctx context.Context, title string) string {
	tb.Helper()
	for {
		if ids := windows(tb, title); len(ids) > 0 {
			return ids[0]
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("window %q did not appear", title)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// windowPos is the position of window id on the screen. A window is
// mapped first and placed right after, so it is read again for up to 5 s
// while it still says 0,0.
func windowPos(tb testing.TB, ctx context.Context, id string) (x, y int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	re := regexp.MustCompile(`Absolute upper-left X:\s+(-?\d+)\s+Absolute upper-left Y:\s+(-?\d+)`)
	for {
		out, err := exec.Command("xwininfo", "-id", id).CombinedOutput()
		if err != nil {
			tb.Fatalf("xwininfo -id %s: %v: %s", id, err, out)
		}
		m := re.FindSubmatch(out)
		if m == nil {
			tb.Fatalf("xwininfo -id %s: no position in %s", id, out)
		}
		x, _ = strconv.Atoi(string(m[1]))
		y, _ = strconv.Atoi(string(m[2]))
		if x != 0 || y != 0 {
			return x, y
		}
		select {
		case <-ctx.Done():
			return x, y
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// screenshot grabs one X window and checks that it shows something: a
// blank or single-colour window would mean nothing was rendered.
func screenshotNotBlank(tb testing.TB, id string) image.Image {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "shot.png")
	var img image.Image
	// The first frame may still be empty while GL starts; retry briefly.
	for attempt := 0; attempt < 30; attempt++ {
		if out, err := exec.Command("import", "-window", id, path).CombinedOutput(); err != nil {
			// Not mapped yet: "Resource temporarily unavailable".
			if attempt == 29 {
				tb.Fatalf("import: %v: %s", err, out)
			}
			time.Sleep(200 * time.Millisecond)
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		img, err = png.Decode(f)
		f.Close()
		if err != nil {
			tb.Fatalf("decoding screenshot: %v", err)
		}
		if distinctColours(img) >= 16 {
			return img
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("window %s stayed blank: %d colours", id, distinctColours(img))
	return nil
}

func distinctColours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}] = true
		}
	}
	return len(seen)
}

// closeUI ends a window's ui process, as the employee closing it would.
func closeUI(tb testing.TB, ctx context.Context, window string) {
	tb.Helper()
	_ = exec.Command("pkill", "-f", uiBinary+" "+window).Run()
	for countUI(tb, window) > 0 {
		select {
		case <-ctx.Done():
			tb.Fatalf("%s window did not close", window)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func countUI(tb testing.TB, window string) int {
	tb.Helper()
	out, _ := exec.Command("pgrep", "-f", uiBinary+" "+window).Output()
	return len(strings.Fields(string(out)))
}

// TestTrayEndToEnd drives the built agent from outside its process, as a
// desktop panel does: find its item through the watcher, read the menu
// over com.canonical.dbusmenu, click "Status anzeigen", see the window.
func TestTrayEndToEnd(t *testing.T) {
	needDisplay(t)
	dbustest.PrivateBus(t)
	watcher := dbustest.StartWatcher(t)
	profilePath, _ := testProfile(t)
	socket := socketPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	agent := startAgent(t, socket, profilePath)
	// A device that is not set up gets the wizard at once. Without a
	// window manager it would cover the status window in the screenshot.
	waitWindow(t, ctx, "Dienstweg – Einrichtung")
	closeUI(t, ctx, "wizard")
	item, menu := trayMenu(t, ctx, watcher)
	layout, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		_, ok := n.FindByLabel("Homeoffice nicht verbunden")
		return ok
	})
	if err != nil {
		t.Fatalf("menu never showed the state line: %v", err)
	}
	for _, label := range []string{"Homeoffice starten", "Mitteilungen", "Status anzeigen", "Hilfe & Support", "Einrichtung", "Dienstweg beenden"} {
		n, ok := layout.FindByLabel(label)
		if !ok || !n.Visible {
			t.Errorf("menu entry %q missing or hidden; menu: %v", label, layout.Labels())
		}
	}
	// A development build has no self-update: the entry could only fail.
	if n, ok := layout.FindByLabel("Nach Updates suchen"); ok && n.Visible {
		t.Error("Check for updates is offered by a build without self-update")
	}
	if n, ok := layout.FindByLabel("Homeoffice beenden"); ok && n.Visible {
		t.Error("End home office is visible while not connected")
	}
	if _, tip, err := item.ToolTip(ctx); err != nil {
		t.Errorf("ToolTip: %v", err)
	} else {
		title, _, _ := item.ToolTip(ctx)
		if title != "Dienstweg – Homeoffice nicht verbunden" {
			t.Errorf("tooltip = %q / %q", title, tip)
		}
	}
	icon, err := item.IconPixmap(ctx)
	if err != nil {
		t.Fatalf("IconPixmap: %v", err)
	}
	if b := icon.Bounds(); b.Dx() != 32 || b.Dy() != 32 || distinctColours(icon) < 2 {
		t.Errorf("tray icon is %v with %d colours", b, distinctColours(icon))
	}

	// Click "Status anzeigen": a ui process starts and its window appears.
	status, _ := layout.FindByLabel("Status anzeigen")
	if err := menu.Click(ctx, status.ID); err != nil {
		t.Fatalf("Click(status): %v", err)
	}
	id := waitWindow(t, ctx, "Dienstweg – Status")
	screenshotNotBlank(t, id)

	// A second click raises that window instead of starting another.
	if err := menu.Click(ctx, status.ID); err != nil {
		t.Fatalf("Click(status) again: %v", err)
	}
	time.Sleep(time.Second)
	if n := countUI(t, "status"); n != 1 {
		t.Errorf("%d status processes after two clicks, want 1", n)
	}
	if n := len(windows(t, "Dienstweg – Status")); n != 1 {
		t.Errorf("%d status windows after two clicks, want 1", n)
	}

	// A second agent start hands over to this one and exits at once.
	second := exec.CommandContext(ctx, binary, "agent", "--profile", profilePath, "--socket", socket, "--lang", "de")
	second.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir())
	if out, err := second.CombinedOutput(); err != nil || !strings.Contains(string(out), "agent is running") {
		t.Errorf("second agent: %v: %s", err, out)
	}
	if n := countUI(t, "status"); n != 1 {
		t.Errorf("%d status processes after the second start, want 1", n)
	}

	// "Dienstweg beenden" ends the agent and closes its windows.
	quit, _ := layout.FindByLabel("Dienstweg beenden")
	if err := menu.Click(ctx, quit.ID); err != nil {
		t.Fatalf("Click(quit): %v", err)
	}
	select {
	case err := <-agent.done:
		if err != nil {
			t.Errorf("agent exited with %v after Quit", err)
		}
		agent.done <- err // for Cleanup
	case <-ctx.Done():
		t.Fatal("agent did not exit after Quit")
	}
	for countUI(t, "status") > 0 {
		select {
		case <-ctx.Done():
			t.Fatal("status window outlived the agent")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind after quit: %v", err)
	}
}

// Without a tray host the agent does not hide: it opens the status window,
// which explains, and registers its item as soon as a host appears.
func TestNoTrayHostOpensStatusWindow(t *testing.T) {
	needDisplay(t)
	dbustest.PrivateBus(t)
	profilePath, _ := testProfile(t)
	socket := socketPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	startAgent(t, socket, profilePath)
	id := waitWindow(t, ctx, "Dienstweg – Status")
	// No window manager runs here either: the window is placed by the
	// program, centred, not left at 0,0 (make run's private Xvfb).
	if x, y := windowPos(t, ctx, id); x <= 0 || y <= 0 {
		t.Errorf("status window at %d,%d, want it centred on the screen", x, y)
	}
	c := localapi.NewClient(socket)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.TrayVisible {
		t.Error("state says a tray is visible although no host is on the bus")
	}

	watcher := dbustest.StartWatcher(t)
	if _, err := watcher.WaitItem(ctx); err != nil {
		t.Fatalf("item did not register once a host appeared: %v", err)
	}
	for {
		st, err := c.Status(ctx)
		if err == nil && st.TrayVisible {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("state never noticed the tray host")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Without an installed profile the built agent starts nothing but says so:
// on stderr and in the log, in the tray, which offers no home office, and
// in the status window, which opens by itself.
func TestNoProfileSaysSo(t *testing.T) {
	needDisplay(t)
	dbustest.PrivateBus(t)
	watcher := dbustest.StartWatcher(t)
	socket := socketPath(t)
	missing := filepath.Join(t.TempDir(), "profile.json")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	agent := startAgent(t, socket, missing)
	waitWindow(t, ctx, "Dienstweg – Status")
	item, menu := trayMenu(t, ctx, watcher)
	layout, err := menu.WaitLayout(ctx, hasVisible("Dienstweg ist noch nicht eingerichtet", "Status anzeigen", "Dienstweg beenden"))
	if err != nil {
		t.Fatalf("menu never said the profile is missing: %v", err)
	}
	for _, label := range []string{"Homeoffice starten", "Homeoffice beenden", "Einrichtung", "Nach Updates suchen"} {
		if n, ok := layout.FindByLabel(label); ok && n.Visible {
			t.Errorf("menu offers %q without a profile", label)
		}
	}
	if title, _, err := item.ToolTip(ctx); err != nil || title != "Dienstweg – Dienstweg ist noch nicht eingerichtet" {
		t.Errorf("tooltip = %q, %v", title, err)
	}
	if st, err := localapi.NewClient(socket).Status(ctx); err != nil || st.ProfileMissing != missing {
		t.Errorf("status: profile_missing = %q, %v; want %s", st.ProfileMissing, err, missing)
	}
	if out := agent.output(); !strings.Contains(out, "no organisation profile at "+missing) || !strings.Contains(out, "dienstweg-portal demo") {
		t.Errorf("stderr does not say what is missing and what to do:\n%s", out)
	}
}
