// Command sniwait is the tray host for the idle benchmark: it owns
// org.kde.StatusNotifierWatcher on the session bus, as a desktop panel
// does, and prints one line per registered tray item:
//
//	ready <unix-ns>
//	registered <unix-ns> <pid> <bus-name> <path>
//
// The times are wall-clock nanoseconds, so a shell script can subtract
// the moment it started a process ($EPOCHREALTIME) from the moment that
// process's item arrived. It is a few lines of godbus rather than
// internal/dbustest, because dbustest's watcher is built around
// testing.TB. It runs until SIGINT or SIGTERM.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

const (
	name  = "org.kde.StatusNotifierWatcher"
	path  = dbus.ObjectPath("/StatusNotifierWatcher")
	iface = "org.kde.StatusNotifierWatcher"
)

// watcher holds exactly the D-Bus methods a StatusNotifierItem calls.
type watcher struct {
	conn *dbus.Conn
	mu   sync.Mutex // serialises output lines
}

// RegisterStatusNotifierItem takes the time first, before any other bus
// round trip, so the PID lookup does not count towards start-up time.
func (w *watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	now := time.Now().UnixNano()
	bus, objPath := service, "/StatusNotifierItem"
	if strings.HasPrefix(service, "/") { // fyne.io/systray sends its object path
		bus, objPath = string(sender), service
	}
	var pid uint32
	_ = w.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, string(sender)).Store(&pid)
	w.mu.Lock()
	fmt.Printf("registered %d %d %s %s\n", now, pid, bus, objPath)
	w.mu.Unlock()
	return nil
}

// RegisterStatusNotifierHost is accepted and ignored: we always claim a host.
func (w *watcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sniwait:", err)
		os.Exit(1)
	}
}

func run() error {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return fmt.Errorf("connecting to the session bus: %w", err)
	}
	defer conn.Close()
	w := &watcher{conn: conn}
	if err := conn.Export(w, path, iface); err != nil {
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	// Items may read these to decide whether they are shown.
	if _, err := prop.Export(conn, path, prop.Map{iface: {
		"RegisteredStatusNotifierItems":  {Value: []string{}},
		"IsStatusNotifierHostRegistered": {Value: true},
		"ProtocolVersion":                {Value: int32(0)},
	}}); err != nil {
		return fmt.Errorf("exporting properties: %w", err)
	}
	// The name goes last: items register the moment it appears.
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("requesting %s: %w", name, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("%s is owned by another process", name)
	}
	w.mu.Lock()
	fmt.Printf("ready %d\n", time.Now().UnixNano())
	w.mu.Unlock()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}
