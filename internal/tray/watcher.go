package tray

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

const watcherName = "org.kde.StatusNotifierWatcher"

// WatchHost reports whether a StatusNotifierWatcher — the part of a desktop
// that shows tray icons — is on the session bus now and whenever that
// changes, until ctx ends. Some GNOME set-ups have none; then the agent
// must say so instead of sitting invisibly in the background.
func WatchHost(ctx context.Context, onChange func(present bool)) error {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return fmt.Errorf("connecting to the session bus: %w", err)
	}
	if err := conn.AddMatchSignal(
		dbus.WithMatchObjectPath("/org/freedesktop/DBus"),
		dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, watcherName),
	); err != nil {
		conn.Close()
		return fmt.Errorf("watching for a tray host: %w", err)
	}
	signals := make(chan *dbus.Signal, 4)
	conn.Signal(signals)

	var present bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&present); err != nil {
		conn.Close()
		return fmt.Errorf("looking for a tray host: %w", err)
	}
	onChange(present)
	go func() {
		defer conn.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case sig, ok := <-signals:
				if !ok || sig == nil {
					return
				}
				if len(sig.Body) == 3 {
					if owner, ok := sig.Body[2].(string); ok {
						onChange(owner != "")
					}
				}
			}
		}
	}()
	return nil
}
