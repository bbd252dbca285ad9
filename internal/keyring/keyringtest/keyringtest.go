// Package keyringtest gives tests a real Secret Service of their own: a
// private D-Bus session bus ([dbustest.PrivateBus]) with an unlocked
// gnome-keyring-daemon on it, or the same bus without one, and ways to
// lock and unlock it from outside as the person would.
//
// keyring.System connects to the bus that DBUS_SESSION_BUS_ADDRESS names
// for every call, so switching buses needs nothing else. PrivateBus uses
// tb.Setenv, which already forbids t.Parallel.
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

// NoSecretService points the process at a fresh private bus on which
// nobody provides org.freedesktop.secrets (and nothing can be activated).
// It returns the bus address.
func NoSecretService(tb testing.TB) string {
	tb.Helper()
	return dbustest.PrivateBus(tb)
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
// and points the process at it until the test ends. No unlock prompt can
// be shown on that bus: one is dismissed at once.
func Private(tb testing.TB) *Daemon {
	tb.Helper()
	NoSecretService(tb)
	return Start(tb)
}

// PrivateWithPrompter is Private on a bus that can also start the real
// unlock prompter (gcr-prompter, on the X display), as a desktop's can:
// an unlock prompt is then shown and waits for a person who never comes,
// until it is dismissed. It needs DISPLAY (scripts/testenv.sh gives one).
func PrivateWithPrompter(tb testing.TB) *Daemon {
	tb.Helper()
	prompter := ""
	for _, p := range []string{"/usr/libexec/gcr-prompter", "/usr/lib/gcr/gcr-prompter", "/usr/lib/gnome-keyring/gcr-prompter"} {
		if _, err := os.Stat(p); err == nil {
			prompter = p
			break
		}
	}
	if prompter == "" {
		skipOrFatal(tb, "keyringtest: gcr-prompter not found (Debian package gcr)")
	}
	if os.Getenv("DISPLAY") == "" {
		skipOrFatal(tb, "keyringtest: no X display for the unlock prompter: DISPLAY is not set")
	}
	dbustest.PrivateBusActivating(tb, map[string]string{
		"org.gnome.keyring.SystemPrompter":  prompter,
		"org.gnome.keyring.PrivatePrompter": prompter,
	})
	d := Start(tb)
	// The bus starts the prompter; it is no child of ours, so stop it by
	// its bus name when the test ends (before the bus goes).
	tb.Cleanup(func() { stopOwner(tb, "org.gnome.keyring.SystemPrompter") })
	return d
}

// stopOwner kills the process that owns name on the session bus, if any.
func stopOwner(tb testing.TB, name string) {
	tb.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return
	}
	defer conn.Close()
	var pid uint32
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, name).Store(&pid); err != nil || pid == 0 {
		return
	}
	if p, err := os.FindProcess(int(pid)); err == nil {
		_ = p.Kill()
	}
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

// Collection is the collection the test daemons keep their items in (and
// keyring.System uses).
const Collection = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")

// Lock locks the keyring, as the person (or a screen lock) would, without
// stopping the daemon.
func (d *Daemon) Lock(tb testing.TB) {
	tb.Helper()
	conn := dbustest.Session(tb)
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").Call(
		"org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{Collection}).Store(&locked, &prompt)
	if err != nil || len(locked) != 1 || prompt != "/" {
		tb.Fatalf("Lock: locked %v, prompt %v, %v", locked, prompt, err)
	}
	if !d.Locked(tb) {
		tb.Fatal("Lock: the collection still says unlocked")
	}
}

// Unlock unlocks the keyring with its password, as the person typing it
// into the desktop's prompt (or into "Passwords and Keys") would. It uses
// gnome-keyring's own interface for that, which needs no prompt.
func (d *Daemon) Unlock(tb testing.TB) {
	tb.Helper()
	conn := dbustest.Session(tb)
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		tb.Fatalf("Unlock: OpenSession: %v", err)
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(Password), "text/plain"}
	if err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0,
		Collection, secret).Err; err != nil {
		tb.Fatalf("Unlock: UnlockWithMasterPassword: %v", err)
	}
	if d.Locked(tb) {
		tb.Fatal("Unlock: the collection still says locked")
	}
}

// Locked reports whether the keyring is locked.
func (d *Daemon) Locked(tb testing.TB) bool {
	tb.Helper()
	conn := dbustest.Session(tb)
	v, err := conn.Object("org.freedesktop.secrets", Collection).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		tb.Fatalf("Locked: %v", err)
	}
	locked, ok := v.Value().(bool)
	if !ok {
		tb.Fatalf("Locked: %v is not a boolean", v)
	}
	return locked
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
