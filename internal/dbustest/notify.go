package dbustest

import (
	"context"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
)

const (
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	notifyIface = "org.freedesktop.Notifications"
)

// Notification is one Notify call as the server received it.
type Notification struct {
	ID            uint32 // what Notify returned
	Sender        string // unique bus name of the caller
	AppName       string
	ReplacesID    uint32
	AppIcon       string
	Summary       string
	Body          string
	Actions       []string // key, label, key, label, ...
	Hints         map[string]dbus.Variant
	ExpireTimeout int32
}

// NotificationServer is a desktop notification daemon on the session bus
// that shows nothing and records every notification. Its methods are safe for
// concurrent use.
type NotificationServer struct {
	conn *dbus.Conn

	mu      sync.Mutex
	lastID  uint32
	got     []Notification
	closed  []uint32
	changed changeSignal
}

// StartNotificationServer owns org.freedesktop.Notifications on the session
// bus (see [Session] for a missing bus) until the test ends. It fails the test
// if another notification daemon owns the name already.
func StartNotificationServer(tb testing.TB) *NotificationServer {
	tb.Helper()
	conn := connect(tb)
	s := &NotificationServer{conn: conn}
	err := conn.Export(notifyMethods{s}, notifyPath, notifyIface)
	if err == nil {
		err = conn.Export(introspect.NewIntrospectable(&introspect.Node{
			Name: string(notifyPath),
			Interfaces: []introspect.Interface{
				introspect.IntrospectData,
				{
					Name: notifyIface,
					Methods: []introspect.Method{
						{Name: "Notify", Args: []introspect.Arg{
							{Name: "app_name", Type: "s", Direction: "in"},
							{Name: "replaces_id", Type: "u", Direction: "in"},
							{Name: "app_icon", Type: "s", Direction: "in"},
							{Name: "summary", Type: "s", Direction: "in"},
							{Name: "body", Type: "s", Direction: "in"},
							{Name: "actions", Type: "as", Direction: "in"},
							{Name: "hints", Type: "a{sv}", Direction: "in"},
							{Name: "expire_timeout", Type: "i", Direction: "in"},
							{Name: "id", Type: "u", Direction: "out"},
						}},
						{Name: "CloseNotification", Args: []introspect.Arg{{Name: "id", Type: "u", Direction: "in"}}},
						{Name: "GetCapabilities", Args: []introspect.Arg{{Name: "capabilities", Type: "as", Direction: "out"}}},
						{Name: "GetServerInformation", Args: []introspect.Arg{
							{Name: "name", Type: "s", Direction: "out"},
							{Name: "vendor", Type: "s", Direction: "out"},
							{Name: "version", Type: "s", Direction: "out"},
							{Name: "spec_version", Type: "s", Direction: "out"},
						}},
					},
					Signals: []introspect.Signal{
						{Name: "NotificationClosed", Args: []introspect.Arg{{Name: "id", Type: "u"}, {Name: "reason", Type: "u"}}},
						{Name: "ActionInvoked", Args: []introspect.Arg{{Name: "id", Type: "u"}, {Name: "action_key", Type: "s"}}},
					},
				},
			},
		}), notifyPath, "org.freedesktop.DBus.Introspectable")
	}
	if err != nil {
		conn.Close()
		tb.Fatalf("StartNotificationServer: exporting %s: %v", notifyPath, err)
	}
	reply, err := conn.RequestName(notifyName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		var owner string
		_ = conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, notifyName).Store(&owner)
		conn.Close()
		tb.Fatalf("StartNotificationServer: %s is already owned by %q (reply %v, %v); "+
			"another notification daemon or test runs on this bus, use PrivateBus", notifyName, owner, reply, err)
	}
	tb.Cleanup(func() {
		_, _ = conn.ReleaseName(notifyName)
		conn.Close()
	})
	return s
}

// notifyMethods holds exactly the D-Bus methods of the server.
type notifyMethods struct{ s *NotificationServer }

func (m notifyMethods) Notify(sender dbus.Sender, appName string, replacesID uint32, appIcon, summary, body string,
	actions []string, hints map[string]dbus.Variant, expireTimeout int32) (uint32, *dbus.Error) {
	s := m.s
	s.mu.Lock()
	defer s.mu.Unlock()
	id := replacesID
	if id == 0 || id > s.lastID {
		// Per spec an unknown replaces_id gets a fresh id.
		s.lastID++
		id = s.lastID
	}
	s.got = append(s.got, Notification{
		ID: id, Sender: string(sender), AppName: appName, ReplacesID: replacesID, AppIcon: appIcon,
		Summary: summary, Body: body, Actions: actions, Hints: hints, ExpireTimeout: expireTimeout,
	})
	s.changed.broadcast()
	return id, nil
}

// CloseNotification emits NotificationClosed with reason 3 (closed by call).
func (m notifyMethods) CloseNotification(id uint32) *dbus.Error {
	m.s.mu.Lock()
	m.s.closed = append(m.s.closed, id)
	m.s.changed.broadcast()
	m.s.mu.Unlock()
	if err := m.s.conn.Emit(notifyPath, notifyIface+".NotificationClosed", id, uint32(3)); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

func (m notifyMethods) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"actions", "body", "body-markup", "icon-static", "persistence"}, nil
}

func (m notifyMethods) GetServerInformation() (name, vendor, version, specVersion string, err *dbus.Error) {
	return "dienstweg-dbustest", "Dienstweg", "1", "1.2", nil
}

// Notifications returns every notification received so far, oldest first.
func (s *NotificationServer) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notification(nil), s.got...)
}

// Closed returns the ids passed to CloseNotification so far.
func (s *NotificationServer) Closed() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint32(nil), s.closed...)
}

// Wait waits until at least n notifications arrived and returns all of them.
// To assert "exactly once", Wait for 1 and then check that len is 1 after the
// code under test has settled.
func (s *NotificationServer) Wait(ctx context.Context, n int) ([]Notification, error) {
	for {
		s.mu.Lock()
		if len(s.got) >= n {
			got := append([]Notification(nil), s.got...)
			s.mu.Unlock()
			return got, nil
		}
		have := len(s.got)
		changed := s.changed.wait()
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, errorf("waiting for %d notifications, have %d: %w", n, have, ctx.Err())
		}
	}
}

// InvokeAction emits ActionInvoked(id, key), as the daemon does when the user
// clicks an action button of notification id.
func (s *NotificationServer) InvokeAction(id uint32, key string) error {
	if err := s.conn.Emit(notifyPath, notifyIface+".ActionInvoked", id, key); err != nil {
		return errorf("emitting ActionInvoked(%d, %q): %w", id, key, err)
	}
	return nil
}
