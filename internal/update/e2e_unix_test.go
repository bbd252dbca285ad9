//go:build unix

package update_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/update"
)

// TestReadOnlyInstallIsLeftToIT runs the check as a user who cannot write
// the binary's directory, as with the .deb in /usr/bin.
func TestReadOnlyInstallIsLeftToIT(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publishVersion(t, "0.2.0", f.v2)
	base, err := os.MkdirTemp("", "upd-ro")
	if err != nil {
		t.Fatalf("MkdirTemp: %v", err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(base, "bin"), 0o755); os.RemoveAll(base) })
	for _, d := range []string{base, filepath.Join(base, "bin"), filepath.Join(base, "state")} {
		os.MkdirAll(d, 0o755)
		os.Chmod(d, 0o755)
	}
	exe := filepath.Join(base, "bin", "dienstweg")
	if err := os.WriteFile(exe, f.v1, 0o755); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	f.dir = filepath.Join(base, "state")
	ca := filepath.Join(base, "ca.pem")
	os.WriteFile(ca, []byte(f.env.CAPEM), 0o644)
	cmd := exec.Command(exe, "check", "--dir", f.dir, "--portal", f.env.URL, "--ca", ca, "--keys", f.key.text())
	if os.Geteuid() == 0 {
		// root may write anywhere; check as nobody, like an employee
		// facing a root-owned /usr/bin.
		os.Chown(f.dir, 65534, 65534)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else {
		os.Chmod(filepath.Join(base, "bin"), 0o555)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check: %v (%s)", err, out)
	}
	var got state.Update
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	if got.State != update.StateManaged || got.Available != "0.2.0" || got.Error == nil || got.Error.Key != update.ManagedMessageKey {
		t.Errorf("state = %+v, want managed 0.2.0 with %s", got, update.ManagedMessageKey)
	}
	sameBytes(t, exe, f.v1, "read-only install")
	if entries, _ := os.ReadDir(filepath.Join(f.dir, "updates")); len(entries) > 0 {
		t.Errorf("downloaded although IT distributes the update: %v", entries)
	}
}
