package storetest

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

func testUserSourceAndUpdate(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "hand") // no source: manual
	must(t, "CreateUser", s.CreateUser(ctx, store.User{Name: "dir", DisplayName: "Dörte", Groups: []string{"a"}, CreatedAt: t0, Source: store.SourceLDAP}))
	u, err := s.User(ctx, "hand")
	if err != nil || u.Source != store.SourceManual || u.Disabled() {
		t.Errorf("user added without source = %+v, %v; want source manual, enabled", u, err)
	}
	must(t, "UpdateUser", s.UpdateUser(ctx, store.User{Name: "dir", DisplayName: "Dörte Müller", Groups: []string{"b", "c"}, Source: store.SourceLDAP}))
	u, err = s.User(ctx, "dir")
	if err != nil || u.DisplayName != "Dörte Müller" || !slices.Equal(u.Groups, []string{"b", "c"}) || u.Source != store.SourceLDAP || !u.CreatedAt.Equal(t0) {
		t.Errorf("updated user = %+v, %v", u, err)
	}
	if err := s.UpdateUser(ctx, store.User{Name: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser(unknown) = %v, want ErrNotFound", err)
	}
}

func testDisableUserRevokesDevices(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	addUser(t, s, "bernd")
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.77.0.0/16"), First: netip.MustParseAddr("10.77.0.2")}
	for _, d := range []store.Device{
		{ID: "a2", User: "anna", PublicKey: "k1", CredentialHash: "c1", EnrollmentHash: "e1", CreatedAt: t0},
		{ID: "a1", User: "anna", PublicKey: "k2", CredentialHash: "c2", EnrollmentHash: "e2", CreatedAt: t0},
		{ID: "b1", User: "bernd", PublicKey: "k3", CredentialHash: "c3", EnrollmentHash: "e3", CreatedAt: t0},
	} {
		if _, err := s.RegisterDevice(ctx, d, pool); err != nil {
			t.Fatalf("RegisterDevice(%s): %v", d.ID, err)
		}
		must(t, "SetAuthorisation", s.SetAuthorisation(ctx, d.ID, t0.Add(8*time.Hour), t0))
	}
	startEnrollment(t, s, "anna", "confirmed", "code")
	must(t, "ConfirmEnrollment", s.ConfirmEnrollment(ctx, "confirmed", t0, t0.Add(time.Hour)))
	startEnrollment(t, s, "anna", "pending", "code2")

	at := t0.Add(time.Hour)
	revoked, err := s.DisableUser(ctx, "anna", at)
	if err != nil || !slices.Equal(revoked, []string{"a1", "a2"}) {
		t.Fatalf("DisableUser = %v, %v; want [a1 a2]", revoked, err)
	}
	u, err := s.User(ctx, "anna")
	if err != nil || !u.DisabledAt.Equal(at) {
		t.Errorf("disabled user = %+v, %v; want DisabledAt %v", u, err, at)
	}
	ds, err := s.AuthorisedDevices(ctx, at)
	must(t, "AuthorisedDevices", err)
	if len(ds) != 1 || ds[0].ID != "b1" {
		t.Errorf("authorised after disabling anna = %+v, want only b1", ds)
	}
	// The session check reads the user with the device: it must see
	// the user disabled, not only the device revoked.
	if d, du, err := s.DeviceByCredential(ctx, "c1"); err != nil || !d.RevokedAt.Equal(at) || !du.DisabledAt.Equal(at) {
		t.Errorf("anna's device = %+v, user %+v, %v; want both revoked/disabled at %v", d, du, err, at)
	}
	for _, id := range []string{"pending", "confirmed"} {
		if _, err := s.Enrollment(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("enrollment %s of a disabled user: %v, want ErrNotFound", id, err)
		}
	}
	// Registering again with a device's enrollment would revive it.
	again := store.Device{ID: "x", User: "anna", PublicKey: "k1", CredentialHash: "c9", EnrollmentHash: "e1", CreatedAt: at}
	if _, err := s.RegisterDevice(ctx, again, pool); !errors.Is(err, store.ErrDisabled) {
		t.Errorf("RegisterDevice for a disabled user = %v, want ErrDisabled", err)
	}
	if d, _, _ := s.DeviceByCredential(ctx, "c1"); d.RevokedAt.IsZero() {
		t.Errorf("a refused registration revived device %+v", d)
	}

	// Again: nothing more to revoke, and the first time stays.
	revoked, err = s.DisableUser(ctx, "anna", at.Add(time.Hour))
	if err != nil || len(revoked) != 0 {
		t.Errorf("second DisableUser = %v, %v; want nothing revoked", revoked, err)
	}
	if u, _ := s.User(ctx, "anna"); !u.DisabledAt.Equal(at) {
		t.Errorf("DisabledAt after a second disable = %v, want %v", u.DisabledAt, at)
	}

	must(t, "EnableUser", s.EnableUser(ctx, "anna"))
	if u, _ := s.User(ctx, "anna"); u.Disabled() {
		t.Errorf("enabled user still disabled: %+v", u)
	}
	if d, _, _ := s.DeviceByCredential(ctx, "c2"); d.RevokedAt.IsZero() {
		t.Errorf("enabling brought back device %+v", d)
	}
	if _, err := s.RegisterDevice(ctx, store.Device{ID: "a3", User: "anna", PublicKey: "k4", CredentialHash: "c4", EnrollmentHash: "e4", CreatedAt: at}, pool); err != nil {
		t.Errorf("RegisterDevice after enabling: %v", err)
	}
	if _, err := s.DisableUser(ctx, "nope", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DisableUser(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.EnableUser(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EnableUser(unknown) = %v, want ErrNotFound", err)
	}
}
