package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
)

// logind's PrepareForSleep(false) on the system bus, here a private bus
// on which the test owns org.freedesktop.login1, makes the supervisor
// renew the handshake at once, long before the clock-gap check or a
// rekey would.
func TestResumeFromLogindRenewsHandshake(t *testing.T) {
	addr := dbustest.PrivateBus(t)
	connect := func() *dbus.Conn {
		c, err := dbus.Connect(addr)
		if err != nil {
			t.Fatalf("connecting to the private bus: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	logind := connect()
	if reply, err := logind.RequestName("org.freedesktop.login1", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v, %v", reply, err)
	}
	r := newRig(t, portaltest.Options{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.ctl.WatchResume(ctx, connect()); err != nil {
		t.Fatalf("WatchResume: %v", err)
	}
	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	before, err := r.engine.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	emit := func(sleeping bool) {
		if err := logind.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForSleep", sleeping); err != nil {
			t.Fatalf("Emit: %v", err)
		}
	}
	emit(true)
	resumed := time.Now() // a handshake after it is the supervisor's
	emit(false)
	waitRenewed(t, r.ctl, r.engine, resumed)
	after, _ := r.engine.Stats()
	if !after.LastHandshake.After(before.LastHandshake) {
		t.Errorf("handshake %v after resume, %v before: not renewed", after.LastHandshake, before.LastHandshake)
	}
}
