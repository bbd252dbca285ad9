package update_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/update"
)

// minisignTool returns Debian's minisign, skipping outside CI without it.
func minisignTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("minisign")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("minisign is missing (scripts/deps.sh installs it): %v", err)
		}
		t.Skipf("minisign not installed (apt-get install minisign): %v", err)
	}
	return p
}

// TestMinisignToolSignatures signs the manifest and the binary the way IT
// does, with the minisign command-line tool, and publishes them on the
// real portal: the client must accept them with the key line of the .pub
// file as the profile carries it.
func TestMinisignToolSignatures(t *testing.T) {
	t.Parallel()
	tool := minisignTool(t)
	f := newFixture(t)
	dir := t.TempDir()
	pub, sec := filepath.Join(dir, "dienstweg.pub"), filepath.Join(dir, "dienstweg.key")
	if b, err := exec.Command(tool, "-G", "-W", "-p", pub, "-s", sec).CombinedOutput(); err != nil {
		t.Fatalf("minisign -G: %v\n%s", err, b)
	}
	sign := func(path string) []byte {
		t.Helper()
		if b, err := exec.Command(tool, "-S", "-s", sec, "-m", path).CombinedOutput(); err != nil {
			t.Fatalf("minisign -S: %v\n%s", err, b)
		}
		return readFile(t, path+".minisig")
	}
	bin := filepath.Join(dir, "dienstweg-0.2.0")
	os.WriteFile(bin, f.v2, 0o755)
	art := update.Artifact{File: "dienstweg-0.2.0", Size: int64(len(f.v2)), SHA256: sha(f.v2), Minisig: string(sign(bin))}
	mpath := filepath.Join(dir, "manifest.json")
	os.WriteFile(mpath, encode(t, manifest("0.2.0", f.env.Clock.Now(), art)), 0o644)
	msig := sign(mpath)
	publish(t, f.env, readFile(t, mpath), msig, map[string][]byte{"dienstweg-0.2.0": f.v2})

	lines := strings.Split(strings.TrimSpace(string(readFile(t, pub))), "\n")
	keyLine := lines[len(lines)-1]
	for _, keys := range [][]string{{keyLine}, {string(readFile(t, pub))}, {f.key.text(), keyLine}} {
		u := f.updater(t, nil, func(c *update.Config) { c.Keys = keys })
		if _, err := checkAndDownload(context.Background(), u); err != nil {
			t.Fatalf("with keys %q: %v", keys, err)
		}
	}
}
