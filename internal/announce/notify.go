package announce

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/godbus/dbus/v5"
)

// DBusNotifier sends notifications to the desktop's notification server
// (org.freedesktop.Notifications) on the session bus. It connects for each
// notification: they are rare, and a desktop that restarts its
// notification daemon is then handled without reconnect logic. It is safe
// for concurrent use.
type DBusNotifier struct {
	// AppName is shown by the desktop; "" means "Dienstweg".
	AppName string
	// Icon is an icon name or file path; "" means none.
	Icon string
}

// Notify implements Notifier. Without a session bus or a notification
// server it returns an error and shows nothing.
func (n DBusNotifier) Notify(ctx context.Context, msg Notification) error {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		// godbus would otherwise autolaunch a bus that outlives us.
		return errors.New("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
	}
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("connecting to the session bus: %w", err)
	}
	defer conn.Close()
	app := n.AppName
	if app == "" {
		app = "Dienstweg"
	}
	// Urgency: 1 normal, 2 critical. A critical notification stays until
	// dismissed, which an outage deserves and a planned maintenance not.
	urgency := byte(1)
	if msg.Severity == SeverityOutage {
		urgency = 2
	}
	hints := map[string]dbus.Variant{
		"urgency":       dbus.MakeVariant(urgency),
		"category":      dbus.MakeVariant("network"),
		"desktop-entry": dbus.MakeVariant("de.dienstweg.client"),
	}
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	var id uint32
	err = obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		app, uint32(0), n.Icon, msg.Title, msg.Body, []string{}, hints, int32(-1)).Store(&id)
	if err != nil {
		return fmt.Errorf("sending notification: %w", err)
	}
	return nil
}
