package dbustest

import (
	"slices"
	"testing"

	"github.com/godbus/dbus/v5"
)

// TestNotificationServer calls the server over the bus exactly as a client
// library does (libnotify's signature and object path).
func TestNotificationServer(t *testing.T) {
	PrivateBus(t)
	ctx := testContext(t)
	srv := StartNotificationServer(t)
	client := Session(t)
	obj := client.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")

	closed := make(chan *dbus.Signal, 4)
	client.Signal(closed)
	if err := client.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.Notifications"),
		dbus.WithMatchMember("NotificationClosed")); err != nil {
		t.Fatalf("AddMatchSignal: %v", err)
	}

	notify := func(replaces uint32, summary string) uint32 {
		t.Helper()
		var id uint32
		err := obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
			"Dienstweg", replaces, "dienstweg", summary, "Die sichere Verbindung ist gestört.",
			[]string{"default", "Details"}, map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(2))},
			int32(-1)).Store(&id)
		if err != nil {
			t.Fatalf("Notify: %v", err)
		}
		return id
	}

	first := notify(0, "Störung")
	got, err := srv.Wait(ctx, 1)
	if err != nil {
		t.Fatalf("Wait(1): %v", err)
	}
	n := got[0]
	if n.ID != first || first == 0 || n.AppName != "Dienstweg" || n.Summary != "Störung" ||
		n.Body != "Die sichere Verbindung ist gestört." || n.ExpireTimeout != -1 ||
		!slices.Equal(n.Actions, []string{"default", "Details"}) || n.Hints["urgency"].Value() != byte(2) ||
		n.Sender != client.Names()[0] {
		t.Errorf("recorded %+v, want the call's fields, id %d and sender %s", n, first, client.Names()[0])
	}

	t.Run("replaces_id_keeps_the_id", func(t *testing.T) {
		if again := notify(first, "Störung behoben"); again != first {
			t.Errorf("Notify(replaces %d) = %d, want the same id", first, again)
		}
		if other := notify(0, "Wartung"); other == first {
			t.Errorf("Notify(replaces 0) = %d, want a new id", other)
		}
		if got := srv.Notifications(); len(got) != 3 || got[1].ReplacesID != first {
			t.Errorf("Notifications() = %+v, want 3 with the second replacing %d", got, first)
		}
	})

	t.Run("close_emits_notification_closed", func(t *testing.T) {
		if err := obj.CallWithContext(ctx, "org.freedesktop.Notifications.CloseNotification", 0, first).Err; err != nil {
			t.Fatalf("CloseNotification: %v", err)
		}
		for seen := false; !seen; {
			select {
			case sig := <-closed:
				if sig.Name != "org.freedesktop.Notifications.NotificationClosed" {
					continue // the bus also sends NameAcquired and the like
				}
				seen = true
				if len(sig.Body) != 2 || sig.Body[0] != first || sig.Body[1] != uint32(3) {
					t.Errorf("NotificationClosed%v, want (%d, 3)", sig.Body, first)
				}
			case <-ctx.Done():
				t.Fatal("no NotificationClosed signal")
			}
		}
		if got := srv.Closed(); !slices.Equal(got, []uint32{first}) {
			t.Errorf("Closed() = %v, want [%d]", got, first)
		}
	})

	t.Run("server_information", func(t *testing.T) {
		var caps []string
		if err := obj.CallWithContext(ctx, "org.freedesktop.Notifications.GetCapabilities", 0).Store(&caps); err != nil ||
			!slices.Contains(caps, "actions") {
			t.Errorf("GetCapabilities() = %v, %v; want actions among them", caps, err)
		}
		var name, vendor, version, spec string
		if err := obj.CallWithContext(ctx, "org.freedesktop.Notifications.GetServerInformation", 0).
			Store(&name, &vendor, &version, &spec); err != nil || spec != "1.2" {
			t.Errorf("GetServerInformation() = %q %q %q %q, %v; want spec 1.2", name, vendor, version, spec, err)
		}
	})
}

func TestStartNotificationServerNameTaken(t *testing.T) {
	PrivateBus(t)
	squatter := Session(t)
	if reply, err := squatter.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil ||
		reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", reply, err)
	}
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { _ = recover() }() // fatalRecorder stops the helper by panicking
		StartNotificationServer(ft)
	}()
	if !ft.failed {
		t.Fatal("StartNotificationServer succeeded although the name was taken")
	}
}

// fatalRecorder records a Fatalf instead of ending the test, so a helper's
// failure path can be tested.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.failed = true
	f.Logf("(expected) "+format, args...)
	panic(f)
}
