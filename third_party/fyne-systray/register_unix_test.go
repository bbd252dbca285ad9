//go:build (linux || freebsd || openbsd || netbsd) && !android

package systray

import (
	"bytes"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

// On a desktop without a tray host, registering fails; that is said once
// by the program in its own words, not as "systray error" at every start.
// Other failures are still logged. Needs a session bus (scripts/testenv.sh).
func TestRegisterWithoutHostIsQuiet(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no session bus; run inside scripts/testenv.sh")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("ConnectSessionBus: %v", err)
	}
	defer conn.Close()
	var buf bytes.Buffer
	log.SetOutput(&buf)
	defer log.SetOutput(os.Stderr)
	if register(conn) {
		t.Skip("a StatusNotifierWatcher runs on this bus")
	}
	if strings.Contains(buf.String(), "systray error") {
		t.Errorf("missing tray host logged as an error: %q", buf.String())
	}
	if watcherMissing(dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied"}) {
		t.Error("an access error counted as a missing tray host")
	}
}
