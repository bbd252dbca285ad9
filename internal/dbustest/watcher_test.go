package dbustest

import (
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

// TestWatcherRegistration registers items the two ways real items do and
// reads the watcher back over the bus, as a panel or item would.
func TestWatcherRegistration(t *testing.T) {
	PrivateBus(t)
	ctx := testContext(t)
	w := StartWatcher(t)

	byPath := Session(t) // fyne.io/systray style: sends its object path
	byName := Session(t) // KDE/libappindicator style: sends a bus name
	const wellKnown = "org.kde.StatusNotifierItem-4242-1"
	if _, err := byName.RequestName(wellKnown, dbus.NameFlagDoNotQueue); err != nil {
		t.Fatalf("RequestName: %v", err)
	}
	register := func(conn *dbus.Conn, arg string) {
		t.Helper()
		err := conn.Object("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher").CallWithContext(ctx,
			"org.kde.StatusNotifierWatcher.RegisterStatusNotifierItem", 0, arg).Err
		if err != nil {
			t.Fatalf("RegisterStatusNotifierItem(%q): %v", arg, err)
		}
	}
	register(byPath, "/org/example/Item")
	register(byPath, "/org/example/Item") // again, as systray does when a watcher reappears
	register(byName, wellKnown)

	want := []Item{
		{Service: byPath.Names()[0], Path: "/org/example/Item"},
		{Service: wellKnown, Path: "/StatusNotifierItem"},
	}
	for i, wantIt := range want {
		it, err := w.WaitItem(ctx)
		if err != nil {
			t.Fatalf("WaitItem #%d: %v", i, err)
		}
		if it.Service != wantIt.Service || it.Path != wantIt.Path {
			t.Errorf("WaitItem #%d = %s, want %s", i, it, wantIt)
		}
	}

	watcher := byPath.Object("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher")
	var listed []string
	if err := watcher.StoreProperty("org.kde.StatusNotifierWatcher.RegisteredStatusNotifierItems", &listed); err != nil {
		t.Fatalf("RegisteredStatusNotifierItems: %v", err)
	}
	if wantListed := []string{want[0].String(), want[1].String()}; !slices.Equal(listed, wantListed) {
		t.Errorf("RegisteredStatusNotifierItems = %q, want %q", listed, wantListed)
	}
	var host bool
	if err := watcher.StoreProperty("org.kde.StatusNotifierWatcher.IsStatusNotifierHostRegistered", &host); err != nil || !host {
		t.Errorf("IsStatusNotifierHostRegistered = %v, %v; want true", host, err)
	}
	var xml string
	if err := watcher.CallWithContext(ctx, "org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&xml); err != nil ||
		!strings.Contains(xml, "RegisterStatusNotifierItem") || !strings.Contains(xml, "ProtocolVersion") {
		t.Errorf("Introspect() = %q, %v; want the watcher interface", xml, err)
	}

	t.Run("leaving_the_bus_unregisters", func(t *testing.T) {
		byName.Close()
		it := Item{Service: wellKnown, Path: "/StatusNotifierItem"}
		if err := w.WaitUnregistered(ctx, it); err != nil {
			t.Fatal(err)
		}
		if got := w.Items(); len(got) != 1 || got[0].Service != want[0].Service {
			t.Errorf("Items() = %v, want only %s", got, want[0])
		}
	})
}

func TestStartWatcherNameTaken(t *testing.T) {
	PrivateBus(t)
	StartWatcher(t)
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		StartWatcher(ft)
	}()
	if !ft.failed {
		t.Fatal("a second StartWatcher on the same bus succeeded")
	}
}
