package store_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

func open(tb testing.TB, path string) *store.SQLite {
	tb.Helper()
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		tb.Fatalf("OpenSQLite: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

func TestReopenKeepsDataAndSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	s := open(t, path)
	if err := s.CreateUser(ctx, store.User{Name: "anna", DisplayName: "Anna", Groups: []string{"bauamt"}, CreatedAt: t0}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.CreateUser(ctx, store.User{Name: "anna"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate user: %v, want ErrConflict", err)
	}
	s.Close()

	s2 := open(t, path) // migrations must not run twice
	u, err := s2.User(ctx, "anna")
	if err != nil || u.DisplayName != "Anna" || len(u.Groups) != 1 || !u.CreatedAt.Equal(t0) {
		t.Fatalf("User after reopen = %+v, %v", u, err)
	}
	if _, err := s2.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
}

func TestTOTPStepUsedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "p.db"))
	if err := s.UseTOTPStep(ctx, "anna", 100, t0, ""); err != nil {
		t.Fatalf("UseTOTPStep: %v", err)
	}
	if err := s.UseTOTPStep(ctx, "anna", 100, t0, ""); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second use: %v, want ErrConflict", err)
	}
	if err := s.UseTOTPStep(ctx, "bernd", 100, t0, ""); err != nil {
		t.Errorf("other user, same step: %v", err)
	}
	// Pruning forgets old steps only.
	if err := s.Prune(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if err := s.UseTOTPStep(ctx, "anna", 100, t0, ""); err != nil {
		t.Errorf("after prune: %v", err)
	}
}

// An accepted code forgets the failures of its subject in the same write,
// also when the step was spent already.
func TestTOTPStepForgetsFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "p.db"))
	fail := func() int {
		t.Helper()
		n, err := s.AddFailure(ctx, "session:anna", t0, t0.Add(-5*time.Minute))
		if err != nil {
			t.Fatalf("AddFailure: %v", err)
		}
		return n
	}
	fail()
	if err := s.UseTOTPStep(ctx, "anna#k", 100, t0, "session:anna"); err != nil {
		t.Fatalf("UseTOTPStep: %v", err)
	}
	if n := fail(); n != 1 {
		t.Errorf("failures after an accepted code = %d, want 1 (this one)", n)
	}
	if err := s.UseTOTPStep(ctx, "anna#k", 100, t0, "session:anna"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reused step: %v, want ErrConflict", err)
	}
	if n := fail(); n != 1 {
		t.Errorf("failures after a reused code = %d, want 1", n)
	}
}

func TestFailuresCountInWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "p.db"))
	for i, want := range []int{1, 2, 3} {
		at := t0.Add(time.Duration(i) * time.Minute)
		n, err := s.AddFailure(ctx, "user:a", at, at.Add(-5*time.Minute))
		if err != nil || n != want {
			t.Fatalf("AddFailure %d = %d, %v; want %d", i, n, err, want)
		}
	}
	at := t0.Add(6 * time.Minute) // the first two are outside the window
	if n, _ := s.AddFailure(ctx, "user:a", at, at.Add(-5*time.Minute)); n != 2 {
		t.Errorf("count after window = %d, want 2", n)
	}
	if err := s.ResetFailures(ctx, "user:a"); err != nil {
		t.Fatalf("ResetFailures: %v", err)
	}
	if n, _ := s.AddFailure(ctx, "user:a", at, at.Add(-5*time.Minute)); n != 1 {
		t.Errorf("count after reset = %d, want 1", n)
	}
}

func TestRegisterDeviceAddressesAndKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "p.db"))
	for _, u := range []string{"a", "b"} {
		if err := s.CreateUser(ctx, store.User{Name: u, DisplayName: u}); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.77.0.0/30"), First: netip.MustParseAddr("10.77.0.2")}
	d1, err := s.RegisterDevice(ctx, store.Device{ID: "d1", User: "a", PublicKey: "k1", CredentialHash: "c1", EnrollmentHash: "e1", CreatedAt: t0}, pool)
	if err != nil || d1.Address != netip.MustParseAddr("10.77.0.2") {
		t.Fatalf("first device = %+v, %v", d1, err)
	}
	// Same enrollment again: same device and address, new key/credential.
	d1b, err := s.RegisterDevice(ctx, store.Device{ID: "ignored", User: "a", PublicKey: "k1b", CredentialHash: "c1b", EnrollmentHash: "e1", CreatedAt: t0}, pool)
	if err != nil || d1b.ID != "d1" || d1b.Address != d1.Address {
		t.Fatalf("re-registration = %+v, %v", d1b, err)
	}
	if _, _, err := s.DeviceByCredential(ctx, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old credential still valid: %v", err)
	}
	if _, err := s.RegisterDevice(ctx, store.Device{ID: "d2", User: "b", PublicKey: "k1b", CredentialHash: "c2", EnrollmentHash: "e2"}, pool); !errors.Is(err, store.ErrConflict) {
		t.Errorf("same key on another device: %v, want ErrConflict", err)
	}
	d2, err := s.RegisterDevice(ctx, store.Device{ID: "d2", User: "b", PublicKey: "k2", CredentialHash: "c2", EnrollmentHash: "e2"}, pool)
	if err != nil || d2.Address != netip.MustParseAddr("10.77.0.3") {
		t.Fatalf("second device = %+v, %v", d2, err)
	}
	if _, err := s.RegisterDevice(ctx, store.Device{ID: "d3", User: "b", PublicKey: "k3", CredentialHash: "c3", EnrollmentHash: "e3"}, pool); err == nil {
		t.Errorf("exhausted pool accepted a device")
	}

	if err := s.SetAuthorisation(ctx, "d2", t0.Add(time.Hour), t0); err != nil {
		t.Fatalf("SetAuthorisation: %v", err)
	}
	if ds, _ := s.AuthorisedDevices(ctx, t0); len(ds) != 1 || ds[0].ID != "d2" {
		t.Errorf("AuthorisedDevices = %+v", ds)
	}
	if ds, _ := s.AuthorisedDevices(ctx, t0.Add(2*time.Hour)); len(ds) != 0 {
		t.Errorf("AuthorisedDevices after end = %+v", ds)
	}
	if err := s.RevokeDevice(ctx, "d2", t0); err != nil {
		t.Fatalf("RevokeDevice: %v", err)
	}
	if err := s.SetAuthorisation(ctx, "d2", t0.Add(time.Hour), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("authorising a revoked device: %v", err)
	}
}

func TestAnnouncementRevision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	s := open(t, path)
	other := open(t, path) // e.g. the CLI writing while the server runs
	r0, err := s.Revision(ctx)
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	a := store.Announcement{ID: "x", Severity: "info", TitleDE: "T", TitleEN: "T", ValidFrom: t0, ValidUntil: t0.Add(time.Hour), Audience: []string{"all"}, UpdatedAt: t0}
	if err := other.PutAnnouncement(ctx, a); err != nil {
		t.Fatalf("PutAnnouncement: %v", err)
	}
	if r1, _ := s.Revision(ctx); r1 != r0+1 {
		t.Errorf("revision seen by the other connection = %d, want %d", r1, r0+1)
	}
	got, err := s.Announcement(ctx, "x")
	if err != nil || got.TitleDE != "T" || !got.ValidUntil.Equal(t0.Add(time.Hour)) || got.Audience[0] != "all" {
		t.Errorf("Announcement = %+v, %v", got, err)
	}
}

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	s := open(t, path)
	other := open(t, path) // a second portal instance on the same database
	const every, burst = 10 * time.Second, 3
	wait := func(st *store.SQLite, at time.Time) time.Duration {
		t.Helper()
		w, err := st.TokenWait(ctx, "src:a", at, every, burst)
		if err != nil {
			t.Fatalf("TokenWait: %v", err)
		}
		return w
	}
	take := func(st *store.SQLite, at time.Time) {
		t.Helper()
		if err := st.TakeToken(ctx, "src:a", at, every); err != nil {
			t.Fatalf("TakeToken: %v", err)
		}
	}
	// drain takes a full bucket's tokens, each one free when taken.
	drain := func(at time.Time) {
		t.Helper()
		for i := 0; i < burst; i++ {
			if w := wait(s, at); w != 0 {
				t.Fatalf("before take %d at %v: wait %v", i+1, at, w)
			}
			take(s, at)
		}
	}
	drain(t0)
	if w := wait(other, t0); w != every {
		t.Errorf("empty bucket seen by the other instance: wait %v, want %v", w, every)
	}
	if w := wait(s, t0.Add(4*time.Second)); w != 6*time.Second {
		t.Errorf("4 s later: wait %v, want 6s", w)
	}
	if w, err := s.TokenWait(ctx, "src:b", t0, every, burst); err != nil || w != 0 {
		t.Errorf("another key: wait %v, %v", w, err)
	}
	// Waiting costs nothing: one interval refills one token.
	if w := wait(s, t0.Add(every)); w != 0 {
		t.Errorf("after one interval: wait %v, want 0", w)
	}
	// Takers let through together all pay, into debt.
	take(s, t0.Add(every))
	take(other, t0.Add(every))
	if w := wait(s, t0.Add(every)); w != 2*every {
		t.Errorf("in debt: wait %v, want %v", w, 2*every)
	}
	// A long pause fills the bucket, never beyond burst.
	later := t0.Add(time.Hour)
	drain(later)
	if w := wait(s, later); w != every {
		t.Errorf("over burst after a pause: wait %v, want %v", w, every)
	}
	if _, err := s.TokenWait(ctx, "src:a", t0, 0, burst); err == nil {
		t.Errorf("zero interval accepted")
	}
	// Prune drops full buckets only.
	if err := s.TakeToken(ctx, "src:b", t0, every); err != nil {
		t.Fatalf("TakeToken: %v", err)
	}
	if err := s.Prune(ctx, later); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if w := wait(s, later); w != every {
		t.Errorf("after prune: wait %v, want %v", w, every)
	}
}

// The database holds TOTP secrets: it and its WAL and SHM files must not
// be readable by other users, whatever the umask.
func TestDatabaseFilesPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "portal.db")
	s := open(t, path)
	if err := s.CreateUser(context.Background(), store.User{Name: "anna"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		checkMode(t, p, 0o600)
	}
}

func TestDatabaseDirectoryCreatedPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	open(t, filepath.Join(dir, "portal.db"))
	checkMode(t, dir, 0o700)
}

func TestOldDatabaseFilesTightened(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "portal.db")
	s := open(t, path)
	s.Close()
	// As left by a version that let SQLite pick the mode.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Chmod: %v", err)
		}
	}
	open(t, path)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		checkMode(t, p, 0o600)
	}
}

func checkMode(tb testing.TB, path string, want os.FileMode) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatalf("Stat: %v", err)
	}
	if got := fi.Mode().Perm(); got != want {
		tb.Errorf("%s has mode %04o, want %04o", filepath.Base(path), got, want)
	}
}

// A database of schema 1 with a lock under the old shared counter opens,
// migrates, and the old lock no longer counts for anything.
func TestMigrationFromSchema1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	s := open(t, path)
	if err := s.SetLock(ctx, "user:anna", t0.Add(time.Hour)); err != nil {
		t.Fatalf("SetLock: %v", err)
	}
	if err := s.ExecForTest(ctx, `DROP TABLE rate_buckets; PRAGMA user_version = 1`); err != nil {
		t.Fatalf("downgrading: %v", err)
	}
	s.Close()
	s2 := open(t, path)
	if until, err := s2.LockedUntil(ctx, "user:anna"); err != nil || !until.IsZero() {
		t.Errorf("old shared lock after migration = %v, %v; want none", until, err)
	}
	if err := s2.TakeToken(ctx, "k", t0, time.Second); err != nil {
		t.Errorf("TakeToken after migration: %v", err)
	}
}
