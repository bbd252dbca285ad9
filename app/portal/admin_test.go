package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The data directory holds the database (TOTP secrets) and the CA key:
// a directory made readable by others is tightened, the database is 0600.
func TestDataDirectoryPrivate(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	runOK(t, "user", "add", "anna", "--data", data)
	for path, want := range map[string]os.FileMode{data: 0o700, filepath.Join(data, "portal.db"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
	}
}

// A user whose name cannot be typed at enrollment is refused when IT adds
// it, not on the employee's first day.
func TestUserAddRefusesNamesThatCannotEnroll(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	for _, name := range []string{"   ", strings.Repeat("a", 129), "anna\x07"} {
		if err := run([]string{"user", "add", name, "--data", data}, &bytes.Buffer{}); err == nil {
			t.Errorf("user add %q accepted", name)
		}
	}
	runOK(t, "user", "add", strings.Repeat("a", 128), "--data", data)
}
