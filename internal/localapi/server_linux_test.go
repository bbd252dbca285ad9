//go:build linux

package localapi

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// As root, a real process of another user connects (the socket opened up
// for the test) and is refused by peer credentials alone.
func TestOtherUserProcessIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root; this test must run there")
		}
		t.Skip("needs root to run a child process as another user")
	}
	t.Parallel()
	_, _, c := startServer(t, Config{})
	// Open the file permissions so only the peer check stands in the way.
	for _, p := range []string{filepath.Dir(filepath.Dir(c.SocketPath())), filepath.Dir(c.SocketPath()), c.SocketPath()} {
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatalf("Chmod: %v", err)
		}
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl not found: %v", err)
	}
	cmd := exec.Command(curl, "-s", "--unix-socket", c.SocketPath(), "-o", "-", "-w", "\n%{http_code}", "http://agent/v1/status")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl as nobody: %v: %s", err, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), "403") || !strings.Contains(string(out), "uid 65534 may not use this agent") {
		t.Errorf("curl as nobody got %q, want 403 naming uid 65534", out)
	}
}
