package announce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

// Action is a button on a notification: Key comes back when it is
// clicked, Label is what it says.
type Action struct {
	Key, Label string
}

// Asker shows a notification with buttons and reports which one the
// person clicked. Implementations must be safe for concurrent use.
type Asker interface {
	// Ask shows msg with actions and waits until one is clicked (its
	// key), the notification is closed (""), or ctx ends, which takes
	// the notification away.
	Ask(ctx context.Context, msg Notification, actions []Action) (string, error)
}

const (
	notifyDest  = "org.freedesktop.Notifications"
	notifyPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	notifyIface = "org.freedesktop.Notifications"
)

// Ask implements Asker over the desktop's notification server. It
// listens for ActionInvoked and NotificationClosed before it sends, so a
// quick click is not missed.
func (n DBusNotifier) Ask(ctx context.Context, msg Notification, actions []Action) (string, error) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return "", errors.New("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
	}
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("connecting to the session bus: %w", err)
	}
	defer conn.Close()
	for _, member := range []string{"ActionInvoked", "NotificationClosed"} {
		if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchObjectPath(notifyPath), dbus.WithMatchInterface(notifyIface), dbus.WithMatchMember(member)); err != nil {
			return "", fmt.Errorf("listening for %s: %w", member, err)
		}
	}
	signals := make(chan *dbus.Signal, 16)
	conn.Signal(signals)
	app := n.AppName
	if app == "" {
		app = "Dienstweg"
	}
	keys := make([]string, 0, 2*len(actions))
	for _, a := range actions {
		keys = append(keys, a.Key, a.Label)
	}
	hints := map[string]dbus.Variant{
		"urgency":       dbus.MakeVariant(byte(1)),
		"category":      dbus.MakeVariant("network"),
		"desktop-entry": dbus.MakeVariant("de.dienstweg.client"),
		// Stays in the notification list after a click elsewhere, so the
		// button can still be reached there.
		"resident": dbus.MakeVariant(true),
	}
	obj := conn.Object(notifyDest, notifyPath)
	var id uint32
	err = obj.CallWithContext(ctx, notifyIface+".Notify", 0,
		app, uint32(0), n.Icon, msg.Title, msg.Body, keys, hints, int32(0)).Store(&id)
	if err != nil {
		return "", fmt.Errorf("sending notification: %w", err)
	}
	// closeIt takes the notification away, with a short deadline of its
	// own: ctx may have ended.
	closeIt := func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		obj.CallWithContext(cctx, notifyIface+".CloseNotification", 0, id)
		cancel()
	}
	for {
		select {
		case <-ctx.Done():
			closeIt() // the question is moot (extended, ended)
			return "", ctx.Err()
		case sig := <-signals:
			if sig == nil || len(sig.Body) < 2 {
				continue
			}
			if got, ok := sig.Body[0].(uint32); !ok || got != id {
				continue
			}
			switch sig.Name {
			case notifyIface + ".ActionInvoked":
				// Answered: a resident notification would otherwise stay
				// in the list with a button that was used.
				key, _ := sig.Body[1].(string)
				closeIt()
				return key, nil
			case notifyIface + ".NotificationClosed":
				return "", nil
			}
		}
	}
}
