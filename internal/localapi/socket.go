package localapi

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// socketName is the agent's socket inside its private directory.
const socketName = "agent.sock"

// DefaultSocketPath is the per-user socket: $XDG_RUNTIME_DIR/dienstweg/
// agent.sock on Linux. Without XDG_RUNTIME_DIR it falls back to a private
// directory under the temp dir, named by uid. On Windows it lives in the
// user's local app data; Windows 10 and later support unix sockets, and the
// directory's ACL keeps other users out.
func DefaultSocketPath() string {
	if runtime.GOOS == "windows" {
		base := os.Getenv("LOCALAPPDATA")
		if base == "" {
			base = os.TempDir()
		}
		return filepath.Join(base, "Dienstweg", socketName)
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "dienstweg", socketName)
	}
	return filepath.Join(os.TempDir(), "dienstweg-"+strconv.Itoa(os.Getuid()), socketName)
}

// prepareSocketDir creates the socket's directory with mode 0700 and
// refuses one that another user owns or others can enter.
func prepareSocketDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating socket directory: %w", err)
	}
	if err := checkPrivateDir(dir); err != nil {
		return err
	}
	return nil
}

// errNoPeerCred: platforms without SO_PEERCRED rely on the socket
// directory's permissions alone.
var errNoPeerCred = errors.New("peer credentials not supported on this platform")
