package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
)

// fakeLogind owns org.freedesktop.login1 on a private bus, since logind
// cannot run in the tests' sandbox, and emits PrepareForSleep as logind
// does around a suspend. It returns the supervisor's connection and the
// emitter.
func fakeLogind(t *testing.T) (*dbus.Conn, func(sleeping bool)) {
	t.Helper()
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
	return connect(), func(sleeping bool) {
		if err := logind.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForSleep", sleeping); err != nil {
			t.Fatalf("Emit: %v", err)
		}
	}
}

// After a wake from sleep the session never says Verbunden before the
// tunnel has carried a fresh handshake: the gateway is away on waking
// (a short nap, so the last handshake is not stale yet), and the first
// state after the resume is "Verbindung wird aufgebaut …", not the
// Verbunden from before the sleep (before: the old Verbunden stood for
// three unanswered handshakes, then jumped to Störung). When the gateway
// answers again it is Verbunden, without a new code.
func TestAfterResumeNoVerbundenBeforeAHandshake(t *testing.T) {
	bus, emit := fakeLogind(t)
	r := newRig(t, portaltest.Options{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.ctl.WatchResume(ctx, bus); err != nil {
		t.Fatalf("WatchResume: %v", err)
	}
	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	states, stop := r.ctl.Subscribe()
	defer stop()
	<-states // Verbunden, from Start

	emit(true)
	r.office.StopGateway()
	emit(false)
	resumed := time.Now()
	select {
	case s := <-states:
		if s.Phase != state.Connecting || !s.Reconnecting {
			t.Fatalf("first state after the resume: %v (%+v), want connecting while the gateway does not answer", s.Phase, s.Detail)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no new state after the resume: Verbunden stood while the gateway did not answer")
	}
	r.office.StartGateway(t)
	waitRenewed(t, r.ctl, r.engine, resumed)
}

// After a network change Verbunden stands for the first try only, since
// the handshake usually comes back at once; when it does not, the state
// says so before the backoff gives up (before: Verbunden until Störung).
func TestAfterNetworkChangeVerbundenOnlyForTheFirstTry(t *testing.T) {
	r := newRig(t, portaltest.Options{}, nil)
	ctx := context.Background()
	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	states, stop := r.ctl.Subscribe()
	defer stop()
	<-states
	r.office.StopGateway()
	changed := time.Now()
	r.ctl.Signal(session.NetworkChanged)
	select {
	case s := <-states:
		if s.Phase != state.Connecting || !s.Reconnecting {
			t.Fatalf("first state after the unanswered network change: %v (%+v), want connecting", s.Phase, s.Detail)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no new state after the network change: Verbunden stood while the gateway did not answer")
	}
	r.office.StartGateway(t)
	waitRenewed(t, r.ctl, r.engine, changed)
}
