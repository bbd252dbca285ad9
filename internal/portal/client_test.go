package portal_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// enrolled runs the whole enrollment for a new user and returns a client
// holding the device credential, and the user's TOTP secret.
func enrolled(tb testing.TB, env *portaltest.Env, user string) (*portal.Client, string) {
	c, secret, _ := enrolledReg(tb, env, user)
	return c, secret
}

func enrolledReg(tb testing.TB, env *portaltest.Env, user string) (*portal.Client, string, *portal.Registration) {
	tb.Helper()
	ctx := context.Background()
	act := env.AddUser(tb, user, "Test "+user)
	c := env.Client(tb, nil)
	en, err := c.StartEnrollment(ctx, user, act)
	if err != nil {
		tb.Fatalf("StartEnrollment: %v", err)
	}
	if _, err := c.ConfirmEnrollment(ctx, en.EnrollmentID, authcodetest.Code(tb, en.Secret, env.Clock.Now())); err != nil {
		tb.Fatalf("ConfirmEnrollment: %v", err)
	}
	reg, err := c.RegisterDevice(ctx, en.EnrollmentID, portaltest.NewWGKey(), "laptop")
	if err != nil {
		tb.Fatalf("RegisterDevice: %v", err)
	}
	// The next code must come from a later step than the confirmation's.
	env.Clock.Advance(authcode.Period)
	return c, en.Secret, reg
}

func TestFullFlow(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	act := env.AddUser(t, "anna.schmidt", "Anna Schmidt")
	c := env.Client(t, nil)

	en, err := c.StartEnrollment(ctx, "Anna.Schmidt ", act)
	if err != nil {
		t.Fatalf("StartEnrollment: %v", err)
	}
	if en.DisplayName != "Anna Schmidt" || en.Account != "anna.schmidt" {
		t.Errorf("enrollment names = %q, %q", en.DisplayName, en.Account)
	}
	if !en.ServerTime.Equal(env.Clock.Now().Truncate(time.Second)) {
		t.Errorf("ServerTime = %v, want %v", en.ServerTime, env.Clock.Now())
	}

	// The factor is not usable before it is confirmed.
	_, err = c.RegisterDevice(ctx, en.EnrollmentID, portaltest.NewWGKey(), "x")
	if !errors.Is(err, portal.ErrEnrollmentNotConfirmed) {
		t.Fatalf("RegisterDevice before confirm: err = %v, want ErrEnrollmentNotConfirmed", err)
	}

	conf, err := c.ConfirmEnrollment(ctx, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now()))
	if err != nil {
		t.Fatalf("ConfirmEnrollment: %v", err)
	}
	if conf.User != "anna.schmidt" {
		t.Errorf("confirmed user = %q", conf.User)
	}

	pub := portaltest.NewWGKey()
	reg, err := c.RegisterDevice(ctx, en.EnrollmentID, pub, "anna-laptop")
	if err != nil {
		t.Fatalf("RegisterDevice: %v", err)
	}
	if reg.Credential == "" || !reg.Tunnel.Address.IsValid() || reg.Tunnel.Address.Bits() != 32 {
		t.Fatalf("registration = %+v", reg)
	}
	if !netip.MustParsePrefix("10.77.0.0/16").Contains(reg.Tunnel.Address.Addr()) {
		t.Errorf("address %v outside pool", reg.Tunnel.Address)
	}
	if reg.AuthorisedUntil == nil {
		t.Errorf("registration right after confirmation should admit the device for today")
	}

	dev, err := c.Device(ctx)
	if err != nil {
		t.Fatalf("Device: %v", err)
	}
	if dev.PublicKey != pub || dev.DeviceID != reg.DeviceID {
		t.Errorf("Device = %+v", dev)
	}

	env.Clock.Advance(authcode.Period)
	s, err := c.AuthoriseSession(ctx, authcodetest.Code(t, en.Secret, env.Clock.Now()))
	if err != nil {
		t.Fatalf("AuthoriseSession: %v", err)
	}
	wantEnd := time.Date(env.Clock.Now().Year(), env.Clock.Now().Month(), env.Clock.Now().Day(), 20, 0, 0, 0, time.UTC)
	if !s.Authorised || s.Until == nil || !s.Until.Equal(wantEnd) {
		t.Errorf("session = %+v, want until %v", s, wantEnd)
	}
	peers, err := env.Server.AuthorisedPeers(ctx, env.Clock.Now())
	if err != nil || len(peers) != 1 || peers[0].PublicKey != pub || peers[0].Address != reg.Tunnel.Address {
		t.Errorf("AuthorisedPeers = %+v, %v", peers, err)
	}

	if s, err := c.EndSession(ctx); err != nil || s.Authorised {
		t.Errorf("EndSession = %+v, %v", s, err)
	}
	if s, err := c.SessionStatus(ctx); err != nil || s.Authorised {
		t.Errorf("SessionStatus after end = %+v, %v", s, err)
	}
	if peers, _ := env.Server.AuthorisedPeers(ctx, env.Clock.Now()); len(peers) != 0 {
		t.Errorf("peers after end = %+v", peers)
	}
	if off, ok := c.ClockOffset(); !ok || off != 0 {
		t.Errorf("ClockOffset = %v, %v; want 0, true", off, ok)
	}
}
