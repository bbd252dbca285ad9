package dbustest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
)

const (
	watcherName  = "org.kde.StatusNotifierWatcher"
	watcherPath  = dbus.ObjectPath("/StatusNotifierWatcher")
	watcherIface = "org.kde.StatusNotifierWatcher"

	// defaultItemPath is implied when an item registers with a bare bus name.
	defaultItemPath = dbus.ObjectPath("/StatusNotifierItem")
)

// Watcher is a StatusNotifierWatcher on the session bus, as a desktop's panel
// provides one: tray items register with it, and it tells the test about
// them. It also claims a host is present, so items consider themselves shown.
// Its methods are safe for concurrent use.
type Watcher struct {
	conn  *dbus.Conn
	props *prop.Properties

	mu      sync.Mutex
	current []Item // registered and still on the bus, in registration order
	history []Item // every registration, for WaitItem's cursor
	next    int    // index into history of the item WaitItem returns next
	closing bool   // set before the connection closes: publish no more
	changed changeSignal
	done    chan struct{} // closed when the NameOwnerChanged loop ends
}

// StartWatcher owns org.kde.StatusNotifierWatcher on the session bus (see
// [Session] for a missing bus) and exports /StatusNotifierWatcher until the
// test ends. It fails the test if another watcher owns the name already.
func StartWatcher(tb testing.TB) *Watcher {
	tb.Helper()
	conn := connect(tb)
	w := &Watcher{conn: conn, done: make(chan struct{})}

	// Follow owners leaving the bus so Items drops items whose process quit.
	// Subscribed before the name is taken, so no item can slip past.
	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)
	if err := conn.AddMatchSignal(
		dbus.WithMatchSender("org.freedesktop.DBus"),
		dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"),
	); err != nil {
		conn.Close()
		tb.Fatalf("StartWatcher: watching NameOwnerChanged: %v", err)
	}
	go w.followOwners(sigs)

	props, err := prop.Export(conn, watcherPath, prop.Map{watcherIface: {
		"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
		"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
		"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
	}})
	if err != nil {
		conn.Close()
		tb.Fatalf("StartWatcher: exporting properties: %v", err)
	}
	w.props = props
	err = conn.Export(watcherMethods{w}, watcherPath, watcherIface)
	if err == nil {
		err = conn.Export(introspect.NewIntrospectable(&introspect.Node{
			Name: string(watcherPath),
			Interfaces: []introspect.Interface{
				introspect.IntrospectData,
				prop.IntrospectData,
				{
					Name: watcherIface,
					Methods: []introspect.Method{
						{Name: "RegisterStatusNotifierItem", Args: []introspect.Arg{{Name: "service", Type: "s", Direction: "in"}}},
						{Name: "RegisterStatusNotifierHost", Args: []introspect.Arg{{Name: "service", Type: "s", Direction: "in"}}},
					},
					Properties: props.Introspection(watcherIface),
					Signals: []introspect.Signal{
						{Name: "StatusNotifierItemRegistered", Args: []introspect.Arg{{Type: "s"}}},
						{Name: "StatusNotifierItemUnregistered", Args: []introspect.Arg{{Type: "s"}}},
						{Name: "StatusNotifierHostRegistered"},
						{Name: "StatusNotifierHostUnregistered"},
					},
				},
			},
		}), watcherPath, "org.freedesktop.DBus.Introspectable")
	}
	if err != nil {
		conn.Close()
		tb.Fatalf("StartWatcher: exporting %s: %v", watcherPath, err)
	}

	// Take the name last: items register the moment it appears.
	reply, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		var owner string
		_ = conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, watcherName).Store(&owner)
		conn.Close()
		tb.Fatalf("StartWatcher: %s is already owned by %q (reply %v, %v); "+
			"another watcher or test runs on this bus, use PrivateBus", watcherName, owner, reply, err)
	}
	tb.Cleanup(func() {
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		_, _ = conn.ReleaseName(watcherName)
		conn.Close()
		<-w.done
	})
	return w
}

// watcherMethods holds exactly the D-Bus methods, so Watcher's Go API stays
// off the bus.
type watcherMethods struct{ w *Watcher }

// RegisterStatusNotifierItem accepts what real watchers accept: an object path
// (the item lives on the caller's connection, as fyne.io/systray sends
// "/StatusNotifierItem") or a bus name (at /StatusNotifierItem).
func (m watcherMethods) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	it := Item{Service: service, Path: defaultItemPath, conn: m.w.conn}
	if strings.HasPrefix(service, "/") {
		it.Service, it.Path = string(sender), dbus.ObjectPath(service)
	}
	if !it.Path.IsValid() || it.Service == "" {
		return dbus.MakeFailedError(errorf("invalid item %q", service))
	}
	m.w.register(it)
	return nil
}

// RegisterStatusNotifierHost is accepted and ignored: we always claim a host.
func (m watcherMethods) RegisterStatusNotifierHost(service string) *dbus.Error {
	return nil
}

func (w *Watcher) register(it Item) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.current {
		if c.Service == it.Service && c.Path == it.Path {
			return // items re-register whenever a watcher (re)appears
		}
	}
	w.current = append(w.current, it)
	w.history = append(w.history, it)
	w.publishLocked()
	if w.closing {
		return
	}
	_ = w.conn.Emit(watcherPath, watcherIface+".StatusNotifierItemRegistered", it.String())
}

func (w *Watcher) followOwners(sigs chan *dbus.Signal) {
	defer close(w.done)
	for sig := range sigs { // closed when the connection closes
		if sig.Name != "org.freedesktop.DBus.NameOwnerChanged" || len(sig.Body) < 3 {
			continue
		}
		name, _ := sig.Body[0].(string)
		newOwner, _ := sig.Body[2].(string)
		if newOwner != "" {
			continue
		}
		w.mu.Lock()
		kept := w.current[:0:0]
		for _, c := range w.current {
			if c.Service == name {
				if !w.closing {
					_ = w.conn.Emit(watcherPath, watcherIface+".StatusNotifierItemUnregistered", c.String())
				}
				continue
			}
			kept = append(kept, c)
		}
		if len(kept) != len(w.current) {
			w.current = kept
			w.publishLocked()
		}
		w.mu.Unlock()
	}
}

// publishLocked updates the property and wakes waiters; w.mu is held.
func (w *Watcher) publishLocked() {
	w.changed.broadcast()
	if w.closing {
		return
	}
	// SetMust panics when emitting PropertiesChanged fails; that only
	// matters while the connection is up.
	defer func() {
		if r := recover(); r != nil && w.conn.Connected() {
			panic(r)
		}
	}()
	names := make([]string, len(w.current))
	for i, c := range w.current {
		names[i] = c.String()
	}
	w.props.SetMust(watcherIface, "RegisteredStatusNotifierItems", names)
}

// Items returns the items registered now, in registration order.
func (w *Watcher) Items() []Item {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Item(nil), w.current...)
}

// WaitItem returns the first registered item on its first call and the next
// one on each later call, waiting until one registers or ctx ends.
func (w *Watcher) WaitItem(ctx context.Context) (Item, error) {
	for {
		w.mu.Lock()
		if w.next < len(w.history) {
			it := w.history[w.next]
			w.next++
			w.mu.Unlock()
			return it, nil
		}
		changed := w.changed.wait()
		w.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Item{}, errorf("waiting for a tray item to register: %w", ctx.Err())
		}
	}
}

// WaitUnregistered waits until it is no longer registered, which happens when
// its bus name leaves the bus (the process quit or closed its connection).
func (w *Watcher) WaitUnregistered(ctx context.Context, it Item) error {
	for {
		w.mu.Lock()
		found := false
		for _, c := range w.current {
			found = found || (c.Service == it.Service && c.Path == it.Path)
		}
		changed := w.changed.wait()
		w.mu.Unlock()
		if !found {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return errorf("waiting for %s to unregister: %w", it, ctx.Err())
		}
	}
}
