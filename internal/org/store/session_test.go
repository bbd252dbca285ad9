package store_test

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

func TestSQLiteSessionAuthorisation(t *testing.T) {
	t.Parallel()
	testSessionAuthorisation(t, open(t, filepath.Join(t.TempDir(), "p.db")))
}

// testSessionAuthorisation holds for every Store: the credential lookup
// brings the user along, and AuthoriseSession spends the step and admits
// the device together or not at all.
func testSessionAuthorisation(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, store.User{Name: "anna", DisplayName: "Anna", Groups: []string{"bauamt"}, TOTPSecret: "S", CreatedAt: t0}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.77.0.0/24"), First: netip.MustParseAddr("10.77.0.2")}
	for _, d := range []store.Device{
		{ID: "d1", User: "anna", PublicKey: "k1", CredentialHash: "c1", EnrollmentHash: "e1", CreatedAt: t0},
		{ID: "d2", User: "anna", PublicKey: "k2", CredentialHash: "c2", EnrollmentHash: "e2", CreatedAt: t0},
	} {
		if _, err := s.RegisterDevice(ctx, d, pool); err != nil {
			t.Fatalf("RegisterDevice: %v", err)
		}
	}
	d, u, err := s.DeviceByCredential(ctx, "c1")
	if err != nil || d.ID != "d1" || u.Name != "anna" || u.TOTPSecret != "S" || len(u.Groups) != 1 || u.Groups[0] != "bauamt" {
		t.Fatalf("DeviceByCredential = %+v, %+v, %v", d, u, err)
	}
	if _, _, err := s.DeviceByCredential(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown credential: %v, want ErrNotFound", err)
	}

	until := t0.Add(10 * time.Hour)
	if n, _ := s.AddFailure(ctx, "session:anna", t0, t0.Add(-time.Hour)); n != 1 {
		t.Fatalf("AddFailure = %d", n)
	}
	if err := s.AuthoriseSession(ctx, "anna#x", 7, t0, "session:anna", "d1", until); err != nil {
		t.Fatalf("AuthoriseSession: %v", err)
	}
	if d, _, _ := s.DeviceByCredential(ctx, "c1"); !d.AuthorisedUntil.Equal(until) {
		t.Errorf("authorised until %v, want %v", d.AuthorisedUntil, until)
	}
	if n, _ := s.AddFailure(ctx, "session:anna", t0, t0.Add(-time.Hour)); n != 1 {
		t.Errorf("failures after authorisation = %d, want 1 (the earlier one forgotten)", n)
	}
	// The same step again, from the other device: refused, and d2 stays
	// out; the failures are forgotten still.
	if err := s.AuthoriseSession(ctx, "anna#x", 7, t0, "session:anna", "d2", until); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("spent step: %v, want ErrConflict", err)
	}
	if d, _, _ := s.DeviceByCredential(ctx, "c2"); !d.AuthorisedUntil.IsZero() {
		t.Errorf("d2 admitted with a spent step until %v", d.AuthorisedUntil)
	}
	if n, _ := s.AddFailure(ctx, "session:anna", t0, t0.Add(-time.Hour)); n != 1 {
		t.Errorf("failures after a spent step = %d, want 1", n)
	}
	// A revoked device: nothing happens, the step stays unspent.
	if err := s.RevokeDevice(ctx, "d2", t0); err != nil {
		t.Fatalf("RevokeDevice: %v", err)
	}
	if err := s.AuthoriseSession(ctx, "anna#x", 8, t0, "", "d2", until); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked device: %v, want ErrNotFound", err)
	}
	if err := s.UseTOTPStep(ctx, "anna#x", 8, t0, ""); err != nil {
		t.Errorf("step 8 was spent by the refused authorisation: %v", err)
	}
	if ds, _ := s.AuthorisedDevices(ctx, t0); len(ds) != 1 || ds[0].ID != "d1" {
		t.Errorf("authorised devices = %+v, want d1 only", ds)
	}
}
