// Package dbustest is a test kit for end-to-end tests against a real D-Bus
// session bus: it plays the desktop's side of the tray (a
// StatusNotifierWatcher and a host reading items and their dbusmenu) and of
// desktop notifications, so a test can drive the real tray of the agent and
// assert what a user would see and click.
//
// Everything here talks to a real bus; nothing is mocked. Run the tests inside
// scripts/testenv.sh, or give each test its own bus with [PrivateBus].
//
// The watcher and the notification server own well-known names, so two of
// them cannot run on one bus at the same time. `go test ./...` runs the test
// binaries of several packages in parallel on the same session bus; tests that
// start a watcher or a notification server should therefore call PrivateBus
// first.
package dbustest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/godbus/dbus/v5"
)

// skipOrFatal skips outside CI and fails in CI, where a missing precondition
// is a broken environment rather than a developer laptop without a desktop.
func skipOrFatal(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format+" (skipping outside CI; run under scripts/testenv.sh)", args...)
}

// Session returns a private connection to the session bus named by
// DBUS_SESSION_BUS_ADDRESS, closed when the test ends. Without a session bus
// the test is skipped, or fails when CI=true.
func Session(tb testing.TB) *dbus.Conn {
	tb.Helper()
	conn := connect(tb)
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// connect opens a private session-bus connection without registering cleanup.
func connect(tb testing.TB) *dbus.Conn {
	tb.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		// Checked first: godbus would otherwise autolaunch a bus that outlives the test.
		skipOrFatal(tb, "dbustest: no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		skipOrFatal(tb, "dbustest: connecting to the session bus %q: %v", os.Getenv("DBUS_SESSION_BUS_ADDRESS"), err)
	}
	return conn
}

// PrivateBus starts a dbus-daemon of its own for this test, points
// DBUS_SESSION_BUS_ADDRESS at it (tb.Setenv, so the test must not be
// parallel; child processes started afterwards inherit it) and stops it when
// the test ends. It returns the bus address. Use it to keep tests that own
// well-known names, or that watch for tray items, apart from other tests
// running at the same time. Without dbus-daemon the test is skipped, or fails
// when CI=true.
func PrivateBus(tb testing.TB) string {
	tb.Helper()
	return privateBus(tb, nil)
}

// PrivateBusActivating is PrivateBus on which the bus can start the given
// services on demand, as a desktop's session bus starts gnome-keyring:
// services maps a well-known name to the command line the bus runs (with
// the environment of the bus) when a caller asks for that name.
func PrivateBusActivating(tb testing.TB, services map[string]string) string {
	tb.Helper()
	return privateBus(tb, services)
}

func privateBus(tb testing.TB, services map[string]string) string {
	tb.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		skipOrFatal(tb, "dbustest: dbus-daemon not found (Debian package dbus): %v", err)
	}
	// Not tb.TempDir: its path contains the test name and may exceed the
	// 108-byte limit of a unix socket path.
	dir, err := os.MkdirTemp("", "dbustest")
	if err != nil {
		tb.Fatalf("PrivateBus: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })

	// Our own config instead of --session: no service directories, so a call
	// to an absent name fails fast instead of activating a daemon (say a
	// locked gnome-keyring) that would outlive the test.
	serviceDir := ""
	if len(services) > 0 {
		serviceDir = filepath.Join(dir, "services")
		if err := os.Mkdir(serviceDir, 0o700); err != nil {
			tb.Fatalf("PrivateBus: %v", err)
		}
		for name, exec := range services {
			file := "[D-BUS Service]\nName=" + name + "\nExec=" + exec + "\n"
			if err := os.WriteFile(filepath.Join(serviceDir, name+".service"), []byte(file), 0o600); err != nil {
				tb.Fatalf("PrivateBus: %v", err)
			}
		}
	}
	config := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(config, []byte(busConfig(filepath.Join(dir, "bus"), serviceDir)), 0o600); err != nil {
		tb.Fatalf("PrivateBus: %v", err)
	}
	cmd := exec.Command(daemon, "--config-file="+config, "--nofork", "--nopidfile", "--print-address=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = daemonProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("PrivateBus: %v", err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("PrivateBus: starting dbus-daemon: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		})
	}
	tb.Cleanup(stop)

	// The daemon prints its address once it listens; EOF means it died.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr := strings.TrimSpace(line)
	if addr == "" {
		stop()
		tb.Fatalf("PrivateBus: dbus-daemon printed no address (%v): %s", err, stderr.String())
	}
	tb.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	return addr
}

// busConfig is a session-like bus listening on socket, open to its own user,
// without service activation unless serviceDir names the services it may
// start.
func busConfig(socket, serviceDir string) string {
	services := ""
	if serviceDir != "" {
		services = "\n  <servicedir>" + serviceDir + "</servicedir>"
	}
	return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=` + socket + `</listen>` + services + `
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
}

// changeSignal is a broadcast: close the current channel to wake every waiter,
// then hand out a fresh one. Callers hold the owner's mutex.
type changeSignal struct{ ch chan struct{} }

func (c *changeSignal) wait() <-chan struct{} {
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *changeSignal) broadcast() {
	if c.ch != nil {
		close(c.ch)
	}
	c.ch = make(chan struct{})
}

// errorf wraps with the package prefix used in every returned error.
func errorf(format string, args ...any) error {
	return fmt.Errorf("dbustest: "+format, args...)
}
