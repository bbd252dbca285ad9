package update_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/update"
)

var buildDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "update-test-bin-")
	if err != nil {
		panic(err)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// buildFake builds testdata/fakeagent with a version (and a crash at
// start, or another GOOS) once per test run and returns its path.
func buildFake(tb testing.TB, version string, crash bool, goos string) string {
	tb.Helper()
	if goos == "" {
		goos = runtime.GOOS
	}
	key := fmt.Sprintf("%s-%v-%s", version, crash, goos)
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[key]; ok {
		return p
	}
	out := filepath.Join(buildDir, "fakeagent-"+key)
	ld := "-X main.version=" + version
	if crash {
		ld += " -X main.crash=yes"
	}
	cmd := exec.Command(goTool(tb), "build", "-ldflags", ld, "-o", out, "./testdata/fakeagent")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building fakeagent %s: %v\n%s", key, err, b)
	}
	built[key] = out
	return out
}

// buildApp builds the real app with a version once per test run (linking
// it takes long; -count=10 would do it twenty times) and returns its path.
func buildApp(tb testing.TB, version string) string {
	tb.Helper()
	key := "app-" + version
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[key]; ok {
		return p
	}
	out := filepath.Join(buildDir, "dienstweg-"+key)
	cmd := exec.Command(goTool(tb), "build", "-ldflags", "-X github.com/dienstweg/dienstweg/internal/version.Version="+version, "-o", out, "../../app")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building app %s: %v\n%s", version, err, b)
	}
	built[key] = out
	return out
}

func goTool(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	p, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("no go tool: %v", err)
	}
	return p
}

// keyPair is a minisign key made for the test.
type keyPair struct {
	pub  minisign.PublicKey
	priv minisign.PrivateKey
}

func newKey(tb testing.TB) keyPair {
	tb.Helper()
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		tb.Fatalf("GenerateKey: %v", err)
	}
	return keyPair{pub, priv}
}

func (k keyPair) sign(b []byte) []byte { return minisign.Sign(k.priv, b) }

func (k keyPair) text() string { return k.pub.String() }

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readFile(tb testing.TB, p string) []byte {
	tb.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatalf("ReadFile: %v", err)
	}
	return b
}

// artifact describes a binary for the manifest, signed by k.
func artifact(k keyPair, name string, bin []byte) update.Artifact {
	return update.Artifact{File: name, Size: int64(len(bin)), SHA256: sha(bin), Minisig: string(k.sign(bin))}
}

// manifest is a valid manifest for version on "stable", valid for a day
// from now, offering art for this platform.
func manifest(version string, now time.Time, art update.Artifact) *update.Manifest {
	return &update.Manifest{
		Schema: update.Schema, Product: "dienstweg", Version: version, Channel: "stable",
		RolloutPercent: 100, Published: now.Add(-time.Hour), Expires: now.Add(24 * time.Hour),
		Platforms: map[string]update.Artifact{update.PlatformKey(runtime.GOOS, runtime.GOARCH): art},
	}
}

func encode(tb testing.TB, m *update.Manifest) []byte {
	tb.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		tb.Fatalf("Marshal: %v", err)
	}
	return b
}

// publish places a release on the portal: files are name → content.
func publish(tb testing.TB, env *portaltest.Env, raw, sig []byte, files map[string][]byte) {
	tb.Helper()
	dir := tb.TempDir()
	var paths []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			tb.Fatalf("WriteFile: %v", err)
		}
		paths = append(paths, p)
	}
	if err := portalsrv.PublishRelease(context.Background(), env.Store, env.Config.ReleaseDir, "stable", raw, sig, paths, env.Clock.Now()); err != nil {
		tb.Fatalf("PublishRelease: %v", err)
	}
}

// install copies bin to a fresh directory as "dienstweg", the installed
// binary the updater replaces.
func install(tb testing.TB, bin string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), "dienstweg")
	if err := os.WriteFile(dst, readFile(tb, bin), 0o755); err != nil {
		tb.Fatalf("WriteFile: %v", err)
	}
	return dst
}

// runVersion runs "BIN version" and returns what it printed.
func runVersion(tb testing.TB, bin string) string {
	tb.Helper()
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		tb.Fatalf("%s version: %v", bin, err)
	}
	return strings.TrimSpace(string(out))
}

// cutProxy forwards TCP to target but closes each connection after the
// server has sent limit bytes: a home line that drops mid-download.
func cutProxy(tb testing.TB, target string, limit int64) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("Listen: %v", err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(s, c); s.Close() }()
			go func() { defer wg.Done(); io.CopyN(c, s, limit); c.Close(); s.Close() }()
		}
	}()
	return ln.Addr().String()
}

// waitFor polls cond until it holds or the bound passes. The bound only
// keeps a broken test from hanging; nothing asserts on durations.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sameBytes(tb testing.TB, path string, want []byte, what string) {
	tb.Helper()
	if got := readFile(tb, path); !bytes.Equal(got, want) {
		tb.Errorf("%s: installed binary changed (sha %s, want %s)", what, sha(got), sha(want))
	}
}

// postJSON sends an empty POST over a unix socket.
func postUnix(socket, path string) error {
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}}
	resp, err := hc.Post("http://agent"+path, "application/json", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
