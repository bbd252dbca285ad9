package agent

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/localapi"
)

// Windows come from dienstweg-ui beside the agent's own executable.
func TestUIExecutableIsBesideTheAgent(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UIExecutable()
	if err != nil || filepath.Dir(got) != filepath.Dir(exe) || !strings.HasPrefix(filepath.Base(got), UIName) {
		t.Errorf("UIExecutable() = %q, %v; want %s beside %s", got, err, UIName, exe)
	}
}

// A missing window program is an error that names it and the remedy, and
// the log says so too.
func TestLaunchWithoutWindowProgram(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), UIName)
	var logs bytes.Buffer
	l := newLauncher(missing, "/nonexistent/agent.sock", "de", nil, slog.New(slog.NewTextHandler(&logs, nil)))
	err := l.launch(localapi.WindowStatus)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "reinstall") {
		t.Errorf("launch = %v; want an error naming %s and the remedy", err, missing)
	}
	if !strings.Contains(logs.String(), "window program is missing") {
		t.Errorf("log does not say the window program is missing:\n%s", logs.String())
	}
	if len(l.running) != 0 {
		t.Errorf("launcher remembers %d windows that never started", len(l.running))
	}
}
