package installtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Environment of the test, set by scripts/package-check.sh.
const (
	// envOn turns the test on: it changes the system (the profile in
	// /etc/dienstweg, a TUN device, routes, resolv.conf).
	envOn = "DIENSTWEG_INSTALLED_E2E"
	// envPortal is the dienstweg-portal binary (not in the .deb).
	envPortal = "DIENSTWEG_PORTAL_BIN"
	// envUnit and envAutostart override where the package put the unit
	// and the autostart entry.
	envUnit      = "DIENSTWEG_HELPER_UNIT"
	envAutostart = "DIENSTWEG_AUTOSTART"
)

const (
	intranetName = "intranet.musterstadt.example"
	tunDevice    = "dienstweg0"
)

func TestInstalledPackage(t *testing.T) {
	if os.Getenv(envOn) == "" {
		t.Skipf("set %s=1 (scripts/package-check.sh does, as root, in a network namespace, with the .deb installed)", envOn)
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root: the helper runs as root")
	}
	// Never the host's own network: the helper sets routes and DNS.
	if ns := strings.TrimSpace(run(t, "ip", "netns", "identify")); ns == "" {
		t.Fatal("run inside a named network namespace of its own (ip netns exec), not in the host's")
	}
	portalBin := os.Getenv(envPortal)
	if portalBin == "" {
		t.Fatalf("%s must name the dienstweg-portal binary", envPortal)
	}
	unit := envOr(envUnit, "/lib/systemd/system/dienstweg-helper.service")
	autostart := envOr(envAutostart, "/etc/xdg/autostart/de.dienstweg.client.desktop")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	resolvBefore, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}

	// The helper, as systemd starts it: ExecStart, in the runtime
	// directory the unit asks for.
	execStart := keyOf(t, unit, "Service", "ExecStart")
	if dir := keyOf(t, unit, "Service", "RuntimeDirectory"); dir != "" {
		mkdirOwn(t, filepath.Join("/run", dir))
	}
	helper := startProc(t, "helper", strings.Fields(execStart), nil)
	waitFor(t, ctx, "the helper's socket", func() bool { return isSocket(helperapi.DefaultSocket) })

	// The demo organisation, as `dienstweg-portal demo --dir` runs it.
	demoDir := t.TempDir()
	startProc(t, "portal", []string{portalBin, "demo", "--dir", demoDir}, nil)
	demoProfile := filepath.Join(demoDir, "profile.json")
	waitFor(t, ctx, "the demo's profile", func() bool { _, err := os.Stat(demoProfile); return err == nil })
	prof, err := profile.Load(demoProfile)
	if err != nil {
		t.Fatal(err)
	}
	// IT installs the profile where the package expects it. An office's
	// profile says nothing of the tunnel mode: the system tunnel is then
	// the only one allowed, so a fallback to the proxy fails the test.
	prof.Tunnel = nil
	installProfile(t, prof)

	// The agent, as the desktop's autostart starts it at login.
	agentArgs := strings.Fields(keyOf(t, autostart, "Desktop Entry", "Exec"))
	startProc(t, "agent", agentArgs, nil)
	c := localapi.NewClient("")
	waitFor(t, ctx, "the agent's local API", func() bool { _, err := c.Status(ctx); return err == nil })
	// It looks at the helper at once (a few milliseconds; the bound is
	// for a loaded CI machine).
	lookCtx, lookDone := context.WithTimeout(ctx, 15*time.Second)
	var s state.Snapshot
	for s, _ = c.Status(ctx); s.Tunnel.Helper == "" && lookCtx.Err() == nil; s, _ = c.Status(ctx) {
		time.Sleep(50 * time.Millisecond)
	}
	lookDone()
	if s.Tunnel.Mode != state.TunnelModeSystem || s.Tunnel.Helper != state.HelperAnswers {
		t.Fatalf("at start the agent found %+v, want the system tunnel with the helper answering", s.Tunnel)
	}

	// The first day: the wizard, through the local API as its window
	// drives it; then `dienstweg up --code` as the employee types it.
	secret := enrollThroughAPI(t, ctx, c, prof.Demo.User, prof.Demo.ActivationCode)
	code := authcodetest.Code(t, secret, time.Now().Add(authcode.Period))
	up := exec.CommandContext(ctx, agentArgs[0], "up", "--code", code)
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("%s up --code: %v\n%s", agentArgs[0], err, out)
	}
	waitFor(t, ctx, "the session to connect", func() bool {
		s, err := c.Status(ctx)
		return err == nil && s.Session == state.Connected
	})
	if s, _ := c.Status(ctx); s.Tunnel.Mode != state.TunnelModeSystem {
		t.Fatalf("connected with %+v, want the system tunnel", s.Tunnel)
	}

	// The office by its name, as any program asks: the system's resolver
	// (glibc, through resolv.conf) and the kernel's routes; no proxy.
	if rc, _ := os.ReadFile("/etc/resolv.conf"); !bytes.Contains(rc, []byte("nameserver 10.77.0.1\n")) {
		t.Fatalf("resolv.conf does not name the office DNS:\n%s", rc)
	}
	hosts := run(t, "getent", "hosts", intranetName)
	addr := strings.Fields(hosts)[0]
	if !strings.HasPrefix(addr, "10.77.") {
		t.Fatalf("getent hosts %s = %q, want an office address", intranetName, hosts)
	}
	if route := run(t, "ip", "route", "get", addr); !strings.Contains(route, "dev "+tunDevice) {
		t.Fatalf("the route to %s does not take %s:\n%s", addr, tunDevice, route)
	}
	curl := exec.CommandContext(ctx, "curl", "--silent", "--show-error", "--fail", "--max-time", "20", "--noproxy", "*", "http://"+intranetName+"/")
	curl.Env = withoutProxies(os.Environ())
	page, err := curl.CombinedOutput()
	if err != nil || !bytes.Contains(page, []byte("Musterstadt")) {
		t.Fatalf("curl http://%s/ with no proxy: %v\n%s", intranetName, err, page)
	}
	t.Logf("reached http://%s/ (%s) through %s with no proxy: %d bytes", intranetName, addr, tunDevice, len(page))
	// No proxy runs beside the system tunnel.
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:1080", time.Second); err == nil {
		conn.Close()
		t.Error("something listens on the SOCKS port 127.0.0.1:1080 while the system tunnel runs")
	}

	// Ending home office takes the device's routes and the office DNS
	// away; stopping the helper as systemd would leaves nothing behind.
	if out, err := exec.CommandContext(ctx, agentArgs[0], "down").CombinedOutput(); err != nil {
		t.Fatalf("%s down: %v\n%s", agentArgs[0], err, out)
	}
	waitFor(t, ctx, "the tunnel device to go", func() bool { return !linkExists(tunDevice) })
	helper.stop(t)
	if after, _ := os.ReadFile("/etc/resolv.conf"); !bytes.Equal(after, resolvBefore) {
		t.Errorf("resolv.conf after the session:\n%s\nbefore:\n%s", after, resolvBefore)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// keyOf reads key from section of an INI-style file (systemd unit,
// desktop entry); "" if it is missing.
func keyOf(t *testing.T, path, section, key string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(l, "["):
			in = l == "["+section+"]"
		case in && strings.HasPrefix(l, key+"="):
			return strings.TrimPrefix(l, key+"=")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ""
}

// installProfile writes p to the platform's profile path, as IT does,
// and removes it afterwards: the package's purge keeps a profile it finds.
func installProfile(t *testing.T, p *profile.Profile) {
	t.Helper()
	path := profile.DefaultPath()
	if _, err := os.Stat(path); err == nil {
		t.Fatalf("%s exists already; the test will not replace an administrator's profile", path)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	mkdirOwn(t, filepath.Dir(path))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
}

// mkdirOwn makes dir (0755) if it is missing, and removes it at the end
// if it made it and it is empty by then: the package's purge leaves
// nothing behind, nor may this test.
func mkdirOwn(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); err == nil {
		return
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
}

// proc is a started program whose output goes to the test log on failure.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	once sync.Once
}

func startProc(t *testing.T, name string, argv []string, env []string) *proc {
	t.Helper()
	if len(argv) == 0 {
		t.Fatalf("%s: no command", name)
	}
	p := &proc{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(withoutProxies(os.Environ()), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting the %s (%s): %v", name, strings.Join(argv, " "), err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("--- %s (%s) output:\n%s", name, strings.Join(argv, " "), p.out.String())
		}
	})
	return p
}

// stop ends the program as systemd and a logout do: SIGTERM, then
// SIGKILL after a grace period.
func (p *proc) stop(t *testing.T) {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			t.Errorf("the %s did not stop on SIGTERM within 20 s", p.name)
			p.cmd.Process.Kill()
			<-p.done
		}
	})
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

// withoutProxies drops proxy settings, so nothing can reach the office
// through a proxy by accident.
func withoutProxies(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy":
			continue
		}
		out = append(out, kv)
	}
	return out
}

func waitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func isSocket(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&os.ModeSocket != 0
}

func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// enrollThroughAPI sets the computer up as the wizard window does and
// returns the authenticator secret.
func enrollThroughAPI(t *testing.T, ctx context.Context, c *localapi.Client, user, activation string) string {
	t.Helper()
	var v enroll.View
	var err error
	waitFor(t, ctx, "the wizard", func() bool {
		v, err = c.EnrollView(ctx)
		return err == nil && v.Step != ""
	})
	do := func(act localapi.EnrollAction) enroll.View {
		t.Helper()
		v, err := c.Enroll(ctx, act)
		if err != nil {
			t.Fatalf("wizard %s: %v", act.Action, err)
		}
		if v.Error != nil {
			t.Fatalf("wizard %s: shows %s %v", act.Action, v.Error.Key, v.Error.Args)
		}
		return v
	}
	if v.Step != enroll.StepWelcome {
		t.Fatalf("wizard at start: %s, want the welcome (a fresh computer)", v.Step)
	}
	do(localapi.EnrollAction{Action: localapi.EnrollNext})
	do(localapi.EnrollAction{Action: localapi.EnrollSignIn, User: user, ActivationCode: activation})
	v = do(localapi.EnrollAction{Action: localapi.EnrollToggleSecret})
	uri, err := url.Parse(v.Authenticator.URI.Reveal())
	if err != nil || uri.Scheme != "otpauth" {
		t.Fatalf("otpauth URI: %v", err)
	}
	secret := uri.Query().Get("secret")
	do(localapi.EnrollAction{Action: localapi.EnrollNext})
	do(localapi.EnrollAction{Action: localapi.EnrollCode, Code: authcodetest.Code(t, secret, time.Now())})
	for i := 0; v.Step != enroll.StepDone; i++ {
		if i > 20 {
			t.Fatalf("wizard never done; at %s", v.Step)
		}
		v = do(localapi.EnrollAction{Action: localapi.EnrollNext})
	}
	return secret
}
