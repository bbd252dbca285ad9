// Package keyringtest gives tests a real Secret Service of their own: a
// private D-Bus session bus ([dbustest.PrivateBus]) with an unlocked
// gnome-keyring-daemon on it, or the same bus without one.
//
// go-keyring talks over godbus's process-wide shared session connection,
// which keeps pointing at the bus it first connected to. The helpers close
// it when they switch buses ([ResetSessionBus]), so tests that use them
// must not run in parallel with other keyring tests of the same binary
// (PrivateBus uses tb.Setenv, which already forbids t.Parallel).
package keyringtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"

	"github.com/dienstweg/dienstweg/internal/dbustest"
)

// Password unlocks the test keyrings.
const Password = "dienstweg-test"

// skipOrFatal skips outside CI and fails in CI, where a missing tool is a
// broken environment.
func skipOrFatal(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format+" (skipping outside CI; install it or run under scripts/testenv.sh)", args...)
}

// ResetSessionBus closes godbus's shared session connection, so the next
// go-keyring call connects to the bus DBUS_SESSION_BUS_ADDRESS names now.
func ResetSessionBus() {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		// dbus.SessionBus would autolaunch a bus that outlives the test.
		return
	}
	if c, err := dbus.SessionBus(); err == nil {
		c.Close()
	}
}

// NoSecretService points the process at a fresh private bus on which
// nobody provides org.freedesktop.secrets (and nothing can be activated).
// It returns the bus address.
func NoSecretService(tb testing.TB) string {
	tb.Helper()
	tb.Cleanup(ResetSessionBus) // runs last: after the bus and env are gone
	addr := dbustest.PrivateBus(tb)
	ResetSessionBus()
	return addr
}

// Daemon is a running gnome-keyring-daemon.
type Daemon struct {
	// Addr is the bus it serves.
	Addr string
	// DataDir is its XDG_DATA_HOME (keyrings/ below it).
	DataDir string
	cmd     *exec.Cmd
}

// Private starts a private bus with an unlocked gnome-keyring-daemon on it
// and points the process at it until the test ends.
func Private(tb testing.TB) *Daemon {
	tb.Helper()
	NoSecretService(tb)
	return Start(tb)
}

// Start runs an unlocked gnome-keyring-daemon on the bus that
// DBUS_SESSION_BUS_ADDRESS names (e.g. after NoSecretService, to make the
// keyring appear while a test runs) and stops it when the test ends.
func Start(tb testing.TB) *Daemon {
	tb.Helper()
	bin, err := exec.LookPath("gnome-keyring-daemon")
	if err != nil {
		skipOrFatal(tb, "keyringtest: gnome-keyring-daemon not found (Debian package gnome-keyring): %v", err)
	}
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		skipOrFatal(tb, "keyringtest: no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set")
	}
	// Short path: the daemon puts its control socket under XDG_RUNTIME_DIR.
	dir, err := os.MkdirTemp("", "kr")
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	d := &Daemon{Addr: addr, DataDir: filepath.Join(dir, "data")}
	for _, sub := range []string{"data", "run", "home"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			tb.Fatalf("Start: %v", err)
		}
	}
	cmd := exec.Command(bin, "--foreground", "--unlock", "--components=secrets")
	cmd.Env = append(os.Environ(),
		"DBUS_SESSION_BUS_ADDRESS="+addr,
		"XDG_DATA_HOME="+d.DataDir,
		"XDG_RUNTIME_DIR="+filepath.Join(dir, "run"),
		"HOME="+filepath.Join(dir, "home"),
	)
	cmd.Stdin = bytes.NewBufferString(Password)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = daemonProcAttr()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("Start: starting gnome-keyring-daemon: %v", err)
	}
	d.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	conn := dbustest.Session(tb)
	for deadline := time.Now().Add(15 * time.Second); ; {
		var owned bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&owned)
		if err == nil && owned {
			break
		}
		select {
		case err := <-exited:
			tb.Fatalf("Start: gnome-keyring-daemon exited (%v): %s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Start: gnome-keyring-daemon did not own org.freedesktop.secrets in 15 s: %s", out.String())
		}
	}
	return d
}

// Lookup reads a secret the way an outside tool does: with secret-tool
// (Debian package libsecret-tools) by the attributes service and username.
func Lookup(tb testing.TB, service, account string) (string, bool) {
	tb.Helper()
	bin, err := exec.LookPath("secret-tool")
	if err != nil {
		skipOrFatal(tb, "keyringtest: secret-tool not found (Debian package libsecret-tools): %v", err)
	}
	cmd := exec.Command(bin, "lookup", "service", service, "username", account)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 && stderr.Len() == 0 {
			return "", false // not found
		}
		tb.Fatalf("secret-tool lookup %s %s: %v: %s", service, account, err, stderr.String())
	}
	return string(out), true
}

// syncBuffer collects the daemon's output, which exec copies from its own
// goroutine while the test may read it.
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
