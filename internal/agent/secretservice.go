package agent

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// secretServiceState says in a few words whether the Secret Service (the
// keyring) is on the session bus, for the diagnostics bundle.
func secretServiceState(ctx context.Context) string {
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(ctx))
	if err != nil {
		return fmt.Sprintf("no session bus: %v", err)
	}
	defer conn.Close()
	var has bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has); err != nil {
		return fmt.Sprintf("unknown: %v", err)
	}
	if !has {
		return "not running (no org.freedesktop.secrets on the session bus)"
	}
	var locked bool
	obj := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets/aliases/default")
	v, err := obj.GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return "running; default collection unknown"
	}
	if err := v.Store(&locked); err == nil && locked {
		return "running; default collection locked"
	}
	return "running; default collection unlocked"
}
