// Package storetest is the conformance suite of store.Store: every
// implementation runs the same tests, so the portal behaves the same on
// SQLite and on PostgreSQL, with one portal instance or several. A new
// Store method gets its tests here (a func in tests), not in one store's
// test file; what only one store has (file modes, its migration history)
// stays there.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB) storetest.Opener { … })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// Opener opens another handle on one database, as another portal
// instance or the admin CLI would; tb.Cleanup closes it.
type Opener func(tb testing.TB) store.Store

// NewDatabase makes a fresh, empty database for one test and returns how
// to open it.
type NewDatabase func(tb testing.TB) Opener

// Run runs every conformance test as a parallel subtest of t, each on a
// database of its own.
func Run(t *testing.T, newDatabase NewDatabase) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newDatabase(t))
		})
	}
}

var tests = []struct {
	name string
	run  func(t *testing.T, open Opener)
}{
	{"reopen_keeps_data", testReopenKeepsData},
	{"parallel_first_open", testParallelFirstOpen},
	{"users", testUsers},
	{"user_source_and_update", testUserSourceAndUpdate},
	{"disable_user_revokes_devices", testDisableUserRevokesDevices},
	{"enrollment_confirmed_once", testEnrollmentConfirmedOnce},
	{"new_code_ends_pending_enrollment", testNewCodeEndsPendingEnrollment},
	{"put_enrollment_replaces_pending", testPutEnrollmentReplacesPending},
	{"totp_step_used_once", testTOTPStepUsedOnce},
	{"totp_step_forgets_failures", testTOTPStepForgetsFailures},
	{"failures_count_in_window", testFailuresCountInWindow},
	{"locks", testLocks},
	{"token_bucket", testTokenBucket},
	{"register_device_addresses_and_keys", testRegisterDeviceAddressesAndKeys},
	{"register_device_ipv6_pool", testRegisterDeviceIPv6Pool},
	{"devices_listed_and_revoked", testDevicesListedAndRevoked},
	{"announcements_and_revision", testAnnouncementsAndRevision},
	{"releases", testReleases},
	{"prune", testPrune},
	{"session_authorisation", testSessionAuthorisation},
	{"parallel_totp_step", testParallelTOTPStep},
	{"parallel_confirm_enrollment", testParallelConfirmEnrollment},
	{"parallel_put_enrollment", testParallelPutEnrollment},
	{"parallel_take_token", testParallelTakeToken},
	{"parallel_add_failure", testParallelAddFailure},
	{"parallel_register_device", testParallelRegisterDevice},
	{"parallel_put_announcement", testParallelPutAnnouncement},
}

// t0 is a Monday morning; whole seconds, as the store keeps them.
var t0 = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

var ctx = context.Background()

func must(tb testing.TB, what string, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

func addUser(tb testing.TB, s store.Store, name string) {
	tb.Helper()
	must(tb, "CreateUser", s.CreateUser(ctx, store.User{Name: name, DisplayName: name, Groups: []string{"all"}, CreatedAt: t0}))
}

// startEnrollment gives user a fresh activation code and a pending
// enrollment started with it.
func startEnrollment(tb testing.TB, s store.Store, user, id, code string) store.Enrollment {
	tb.Helper()
	must(tb, "SetActivationCode", s.SetActivationCode(ctx, store.ActivationCode{User: user, Hash: code, CreatedAt: t0, ExpiresAt: t0.Add(14 * 24 * time.Hour)}))
	e := store.Enrollment{IDHash: id, User: user, Secret: "SECRET" + id, CodeHash: code, CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}
	must(tb, "PutEnrollment", s.PutEnrollment(ctx, e))
	return e
}

func testReopenKeepsData(t *testing.T, open Opener) {
	s := open(t)
	must(t, "CreateUser", s.CreateUser(ctx, store.User{Name: "anna", DisplayName: "Anna", Groups: []string{"bauamt"}, CreatedAt: t0}))
	if err := s.CreateUser(ctx, store.User{Name: "anna"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate user: %v, want ErrConflict", err)
	}
	must(t, "Close", s.Close())

	s2 := open(t) // migrations must not run twice
	u, err := s2.User(ctx, "anna")
	if err != nil || u.DisplayName != "Anna" || !slices.Equal(u.Groups, []string{"bauamt"}) || !u.CreatedAt.Equal(t0) {
		t.Fatalf("User after reopen = %+v, %v", u, err)
	}
	if _, err := s2.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
}

// Two portal instances (or a CLI beside a server) starting together on a
// new database migrate it once, not both.
func testParallelFirstOpen(t *testing.T, open Opener) {
	handles := make([]store.Store, 4)
	var wg sync.WaitGroup
	for i := range handles {
		wg.Go(func() { handles[i] = open(t) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, s := range handles {
		if err := s.CreateUser(ctx, store.User{Name: fmt.Sprint("u", i), CreatedAt: t0}); err != nil {
			t.Errorf("CreateUser on handle %d: %v", i, err)
		}
	}
}

func testUsers(t *testing.T, open Opener) {
	s := open(t)
	if us, err := s.Users(ctx); err != nil || len(us) != 0 {
		t.Fatalf("Users of an empty store = %+v, %v", us, err)
	}
	// Sub-second parts are dropped, not rounded.
	created := t0.Add(1500 * time.Millisecond)
	must(t, "CreateUser", s.CreateUser(ctx, store.User{Name: "bernd", DisplayName: "Bernd B.", CreatedAt: created}))
	must(t, "CreateUser", s.CreateUser(ctx, store.User{Name: "anna", DisplayName: "Anna A.", Groups: []string{"bauamt", "it"}, CreatedAt: t0}))
	us, err := s.Users(ctx)
	must(t, "Users", err)
	if len(us) != 2 || us[0].Name != "anna" || us[1].Name != "bernd" {
		t.Fatalf("Users = %+v, want anna then bernd", us)
	}
	if a := us[0]; a.DisplayName != "Anna A." || !slices.Equal(a.Groups, []string{"bauamt", "it"}) || a.TOTPSecret != "" || !a.EnrolledAt.IsZero() {
		t.Errorf("anna = %+v", a)
	}
	if b := us[1]; len(b.Groups) != 0 || !b.CreatedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("bernd = %+v, want no groups, created %v", b, t0.Add(time.Second))
	}
	if _, err := s.ActivationCode(ctx, "anna"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ActivationCode before any: %v, want ErrNotFound", err)
	}
}

func testEnrollmentConfirmedOnce(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	e := startEnrollment(t, s, "anna", "e1", "code1")
	got, err := s.Enrollment(ctx, "e1")
	if err != nil || got != e {
		t.Fatalf("Enrollment = %+v, %v; want %+v", got, err, e)
	}
	now, before := t0.Add(time.Minute), t0.Add(time.Hour)
	must(t, "ConfirmEnrollment", s.ConfirmEnrollment(ctx, "e1", now, before))

	got, err = s.Enrollment(ctx, "e1")
	if err != nil || !got.ConfirmedAt.Equal(now) || !got.ExpiresAt.Equal(before) {
		t.Errorf("confirmed enrollment = %+v, %v; want confirmed %v, expiring %v", got, err, now, before)
	}
	u, err := s.User(ctx, "anna")
	if err != nil || u.TOTPSecret != "SECRETe1" || !u.EnrolledAt.Equal(now) {
		t.Errorf("user after confirming = %+v, %v", u, err)
	}
	c, err := s.ActivationCode(ctx, "anna")
	if err != nil || c.Hash != "code1" || !c.UsedAt.Equal(now) {
		t.Errorf("code after confirming = %+v, %v; want used at %v", c, err, now)
	}
	if err := s.ConfirmEnrollment(ctx, "e1", now, before); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second confirmation: %v, want ErrConflict", err)
	}
	if err := s.ConfirmEnrollment(ctx, "nope", now, before); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown enrollment: %v, want ErrNotFound", err)
	}
	if _, err := s.Enrollment(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Enrollment(unknown): %v, want ErrNotFound", err)
	}
}

// IT issues a new letter: an enrollment started with the old code cannot
// be confirmed any more, and it is gone with its secret.
func testNewCodeEndsPendingEnrollment(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	startEnrollment(t, s, "anna", "e1", "code1")
	must(t, "SetActivationCode", s.SetActivationCode(ctx, store.ActivationCode{User: "anna", Hash: "code2", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	if err := s.ConfirmEnrollment(ctx, "e1", t0, t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("confirming with a replaced code: %v, want ErrNotFound (the enrollment is deleted)", err)
	}
	if u, _ := s.User(ctx, "anna"); u.TOTPSecret != "" {
		t.Errorf("secret set by a refused confirmation: %q", u.TOTPSecret)
	}
}

func testPutEnrollmentReplacesPending(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	addUser(t, s, "bernd")
	startEnrollment(t, s, "anna", "e1", "code1")
	must(t, "ConfirmEnrollment", s.ConfirmEnrollment(ctx, "e1", t0, t0.Add(time.Hour)))
	startEnrollment(t, s, "bernd", "b1", "codeb")
	startEnrollment(t, s, "anna", "e2", "code2")
	startEnrollment(t, s, "anna", "e3", "code3")
	for id, want := range map[string]bool{"e1": true, "e2": false, "e3": true, "b1": true} {
		_, err := s.Enrollment(ctx, id)
		if want && err != nil || !want && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Enrollment(%s): %v, want kept=%v", id, err, want)
		}
	}
}

func testTOTPStepUsedOnce(t *testing.T, open Opener) {
	s := open(t)
	must(t, "UseTOTPStep", s.UseTOTPStep(ctx, "anna", 100, t0, ""))
	if err := s.UseTOTPStep(ctx, "anna", 100, t0, ""); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second use: %v, want ErrConflict", err)
	}
	if err := s.UseTOTPStep(ctx, "bernd", 100, t0, ""); err != nil {
		t.Errorf("other user, same step: %v", err)
	}
	if err := s.UseTOTPStep(ctx, "anna", 101, t0, ""); err != nil {
		t.Errorf("same user, next step: %v", err)
	}
	// Pruning forgets old steps only.
	must(t, "Prune", s.Prune(ctx, t0.Add(time.Hour)))
	if err := s.UseTOTPStep(ctx, "anna", 100, t0, ""); err != nil {
		t.Errorf("after prune: %v", err)
	}
}

// An accepted code forgets the failures of its subject in the same write,
// also when the step was spent already.
func testTOTPStepForgetsFailures(t *testing.T, open Opener) {
	s := open(t)
	fail := func() int {
		t.Helper()
		n, err := s.AddFailure(ctx, "session:anna", t0, t0.Add(-5*time.Minute))
		must(t, "AddFailure", err)
		return n
	}
	fail()
	must(t, "UseTOTPStep", s.UseTOTPStep(ctx, "anna#k", 100, t0, "session:anna"))
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

func testFailuresCountInWindow(t *testing.T, open Opener) {
	s := open(t)
	for i, want := range []int{1, 2, 3} {
		at := t0.Add(time.Duration(i) * time.Minute)
		n, err := s.AddFailure(ctx, "session:a", at, at.Add(-5*time.Minute))
		if err != nil || n != want {
			t.Fatalf("AddFailure %d = %d, %v; want %d", i, n, err, want)
		}
	}
	at := t0.Add(6 * time.Minute) // the first two are outside the window
	if n, _ := s.AddFailure(ctx, "session:a", at, at.Add(-5*time.Minute)); n != 2 {
		t.Errorf("count after window = %d, want 2", n)
	}
	if n, _ := s.AddFailure(ctx, "session:b", at, at.Add(-5*time.Minute)); n != 1 {
		t.Errorf("another subject = %d, want 1", n)
	}
	must(t, "ResetFailures", s.ResetFailures(ctx, "session:a"))
	if n, _ := s.AddFailure(ctx, "session:a", at, at.Add(-5*time.Minute)); n != 1 {
		t.Errorf("count after reset = %d, want 1", n)
	}
}

func testLocks(t *testing.T, open Opener) {
	s, other := open(t), open(t)
	if until, err := s.LockedUntil(ctx, "session:anna"); err != nil || !until.IsZero() {
		t.Errorf("never locked = %v, %v; want zero", until, err)
	}
	must(t, "SetLock", other.SetLock(ctx, "session:anna", t0.Add(time.Hour)))
	must(t, "SetLock", other.SetLock(ctx, "session:anna", t0.Add(2*time.Hour)))
	if until, err := s.LockedUntil(ctx, "session:anna"); err != nil || !until.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("locked by the other instance = %v, %v; want %v", until, err, t0.Add(2*time.Hour))
	}
	must(t, "Prune", s.Prune(ctx, t0.Add(time.Hour)))
	if until, _ := s.LockedUntil(ctx, "session:anna"); !until.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("running lock pruned: %v", until)
	}
	must(t, "Prune", s.Prune(ctx, t0.Add(3*time.Hour)))
	if until, _ := s.LockedUntil(ctx, "session:anna"); !until.IsZero() {
		t.Errorf("ended lock kept: %v", until)
	}
}

func testTokenBucket(t *testing.T, open Opener) {
	s := open(t)
	other := open(t) // a second portal instance on the same database
	const every, burst = 10 * time.Second, 3
	wait := func(st store.Store, at time.Time) time.Duration {
		t.Helper()
		w, err := st.TokenWait(ctx, "src:a", at, every, burst)
		must(t, "TokenWait", err)
		return w
	}
	take := func(st store.Store, at time.Time) {
		t.Helper()
		must(t, "TakeToken", st.TakeToken(ctx, "src:a", at, every))
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
	if _, err := s.TokenWait(ctx, "src:a", t0, every, 0); err == nil {
		t.Errorf("zero burst accepted")
	}
	if err := s.TakeToken(ctx, "src:a", t0, 0); err == nil {
		t.Errorf("TakeToken with a zero interval accepted")
	}
	// Prune drops full buckets only.
	must(t, "TakeToken", s.TakeToken(ctx, "src:b", t0, every))
	must(t, "Prune", s.Prune(ctx, later))
	if w := wait(s, later); w != every {
		t.Errorf("after prune: wait %v, want %v", w, every)
	}
}

func testRegisterDeviceAddressesAndKeys(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "a")
	addUser(t, s, "b")
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.77.0.0/30"), First: netip.MustParseAddr("10.77.0.2")}
	d1, err := s.RegisterDevice(ctx, store.Device{ID: "d1", User: "a", Name: "Laptop", PublicKey: "k1", CredentialHash: "c1", EnrollmentHash: "e1", CreatedAt: t0}, pool)
	if err != nil || d1.Address != netip.MustParseAddr("10.77.0.2") {
		t.Fatalf("first device = %+v, %v", d1, err)
	}
	// Same enrollment again: same device and address, new key/credential.
	d1b, err := s.RegisterDevice(ctx, store.Device{ID: "ignored", User: "a", Name: "Laptop 2", PublicKey: "k1b", CredentialHash: "c1b", EnrollmentHash: "e1", CreatedAt: t0.Add(time.Hour)}, pool)
	if err != nil || d1b.ID != "d1" || d1b.Address != d1.Address || !d1b.CreatedAt.Equal(t0) {
		t.Fatalf("re-registration = %+v, %v", d1b, err)
	}
	if _, _, err := s.DeviceByCredential(ctx, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old credential still valid: %v", err)
	}
	if got, _, err := s.DeviceByCredential(ctx, "c1b"); err != nil || got.ID != "d1" || got.PublicKey != "k1b" || got.Name != "Laptop 2" || got.Address != d1.Address || got.User != "a" {
		t.Errorf("DeviceByCredential(new) = %+v, %v", got, err)
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

	must(t, "SetAuthorisation", s.SetAuthorisation(ctx, "d2", t0.Add(time.Hour), t0))
	if ds, _ := s.AuthorisedDevices(ctx, t0); len(ds) != 1 || ds[0].ID != "d2" || !ds[0].AuthorisedUntil.Equal(t0.Add(time.Hour)) || !ds[0].LastSeen.Equal(t0) {
		t.Errorf("AuthorisedDevices = %+v", ds)
	}
	if ds, _ := s.AuthorisedDevices(ctx, t0.Add(2*time.Hour)); len(ds) != 0 {
		t.Errorf("AuthorisedDevices after end = %+v", ds)
	}
	must(t, "SetAuthorisation", s.SetAuthorisation(ctx, "d2", time.Time{}, t0))
	if ds, _ := s.AuthorisedDevices(ctx, t0); len(ds) != 0 {
		t.Errorf("AuthorisedDevices after a zero until = %+v", ds)
	}
	must(t, "RevokeDevice", s.RevokeDevice(ctx, "d2", t0))
	if err := s.SetAuthorisation(ctx, "d2", t0.Add(time.Hour), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("authorising a revoked device: %v, want ErrNotFound", err)
	}
	if err := s.SetAuthorisation(ctx, "nope", t0.Add(time.Hour), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("authorising an unknown device: %v, want ErrNotFound", err)
	}
	// A revoked device's key is free again, and its enrollment may
	// register anew (the same device comes back).
	if _, err := s.RegisterDevice(ctx, store.Device{ID: "d4", User: "a", PublicKey: "k2", CredentialHash: "c4", EnrollmentHash: "e4"}, store.AddressPool{Prefix: netip.MustParsePrefix("10.78.0.0/24"), First: netip.MustParseAddr("10.78.0.2")}); err != nil {
		t.Errorf("key of a revoked device: %v", err)
	}
	back, err := s.RegisterDevice(ctx, store.Device{User: "b", PublicKey: "k5", CredentialHash: "c5", EnrollmentHash: "e2"}, pool)
	if err != nil || back.ID != "d2" || back.Address != d2.Address {
		t.Fatalf("re-registration of a revoked device = %+v, %v", back, err)
	}
	if got, _, err := s.DeviceByCredential(ctx, "c5"); err != nil || !got.RevokedAt.IsZero() {
		t.Errorf("re-registered device = %+v, %v; want not revoked", got, err)
	}
}

func testRegisterDeviceIPv6Pool(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "a")
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("fd00:77::/64"), First: netip.MustParseAddr("fd00:77::fffe")}
	var got []netip.Addr
	for i := range 3 {
		id := fmt.Sprint(i)
		d, err := s.RegisterDevice(ctx, store.Device{ID: "d" + id, User: "a", PublicKey: "k" + id, CredentialHash: "c" + id, EnrollmentHash: "e" + id}, pool)
		must(t, "RegisterDevice", err)
		got = append(got, d.Address)
	}
	want := []netip.Addr{netip.MustParseAddr("fd00:77::fffe"), netip.MustParseAddr("fd00:77::ffff"), netip.MustParseAddr("fd00:77::1:0")}
	if !slices.Equal(got, want) {
		t.Errorf("addresses = %v, want %v", got, want)
	}
}

func testDevicesListedAndRevoked(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	addUser(t, s, "bernd")
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.77.0.0/16"), First: netip.MustParseAddr("10.77.0.2")}
	for _, d := range []store.Device{
		{ID: "z", User: "anna", PublicKey: "k1", CredentialHash: "c1", EnrollmentHash: "e1", CreatedAt: t0},
		{ID: "a", User: "bernd", PublicKey: "k2", CredentialHash: "c2", EnrollmentHash: "e2", CreatedAt: t0},
		{ID: "m", User: "anna", PublicKey: "k3", CredentialHash: "c3", EnrollmentHash: "e3", CreatedAt: t0},
	} {
		if _, err := s.RegisterDevice(ctx, d, pool); err != nil {
			t.Fatalf("RegisterDevice(%s): %v", d.ID, err)
		}
	}
	ds, err := s.Devices(ctx)
	must(t, "Devices", err)
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.User+"/"+d.ID)
		if !d.CreatedAt.Equal(t0) || !d.LastSeen.Equal(t0) {
			t.Errorf("device %s created %v, last seen %v; want both %v", d.ID, d.CreatedAt, d.LastSeen, t0)
		}
	}
	if want := []string{"anna/m", "anna/z", "bernd/a"}; !slices.Equal(ids, want) {
		t.Errorf("Devices = %v, want %v (by user, then id)", ids, want)
	}
	if d, err := s.DeviceByID(ctx, "z"); err != nil || d.User != "anna" || d.PublicKey != "k1" || d.CredentialHash != "c1" || !d.CreatedAt.Equal(t0) || !d.Address.IsValid() {
		t.Errorf("DeviceByID(z) = %+v, %v", d, err)
	}
	if _, err := s.DeviceByID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeviceByID of an unknown device: %v, want ErrNotFound", err)
	}
	ids = nil
	mine, err := s.DevicesOfUser(ctx, "anna")
	must(t, "DevicesOfUser", err)
	for _, d := range mine {
		ids = append(ids, d.User+"/"+d.ID)
	}
	if want := []string{"anna/m", "anna/z"}; !slices.Equal(ids, want) {
		t.Errorf("DevicesOfUser(anna) = %v, want %v", ids, want)
	}
	if none, err := s.DevicesOfUser(ctx, "carla"); err != nil || len(none) != 0 {
		t.Errorf("DevicesOfUser of a user without devices = %+v, %v", none, err)
	}
	must(t, "SetAuthorisation", s.SetAuthorisation(ctx, "m", t0.Add(time.Hour), t0))
	must(t, "RevokeDevice", s.RevokeDevice(ctx, "m", t0.Add(time.Minute)))
	d, _, err := s.DeviceByCredential(ctx, "c3")
	if err != nil || !d.RevokedAt.Equal(t0.Add(time.Minute)) || !d.AuthorisedUntil.IsZero() {
		t.Errorf("revoked device = %+v, %v; want RevokedAt set and no authorisation", d, err)
	}
	if d, err := s.DeviceByID(ctx, "m"); err != nil || !d.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("DeviceByID of a revoked device = %+v, %v; want it with RevokedAt", d, err)
	}
	if mine, _ := s.DevicesOfUser(ctx, "anna"); len(mine) != 2 {
		t.Errorf("DevicesOfUser after revoking = %d devices, want 2 (revoked ones listed)", len(mine))
	}
	if ds, _ := s.AuthorisedDevices(ctx, t0); len(ds) != 0 {
		t.Errorf("AuthorisedDevices after revoking = %+v", ds)
	}
	if err := s.RevokeDevice(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking an unknown device: %v, want ErrNotFound", err)
	}
}

func testAnnouncementsAndRevision(t *testing.T, open Opener) {
	s := open(t)
	other := open(t) // e.g. the CLI writing while the server runs
	r0, err := s.Revision(ctx)
	must(t, "Revision", err)
	a := store.Announcement{ID: "x", Severity: "info", TitleDE: "Titel", TitleEN: "Title", BodyDE: "Text", BodyEN: "Body",
		ValidFrom: t0, ValidUntil: t0.Add(time.Hour), Audience: []string{"all"}, UpdatedAt: t0}
	must(t, "PutAnnouncement", other.PutAnnouncement(ctx, a))
	if r1, _ := s.Revision(ctx); r1 != r0+1 {
		t.Errorf("revision seen by the other handle = %d, want %d", r1, r0+1)
	}
	got, err := s.Announcement(ctx, "x")
	if err != nil || !equalAnnouncement(got, a) {
		t.Errorf("Announcement = %+v, %v; want %+v", got, err, a)
	}
	a.TitleDE, a.Audience, a.UpdatedAt = "Neu", []string{"bauamt", "it"}, t0.Add(time.Minute)
	must(t, "PutAnnouncement", s.PutAnnouncement(ctx, a))
	if r2, _ := other.Revision(ctx); r2 != r0+2 {
		t.Errorf("revision after an edit = %d, want %d", r2, r0+2)
	}
	b := store.Announcement{ID: "a", Severity: "warning", ValidFrom: t0.Add(-time.Hour), ValidUntil: t0, Audience: []string{}, UpdatedAt: t0}
	must(t, "PutAnnouncement", s.PutAnnouncement(ctx, b))
	c := store.Announcement{ID: "b", Severity: "info", ValidFrom: t0, ValidUntil: t0.Add(time.Hour), UpdatedAt: t0}
	must(t, "PutAnnouncement", s.PutAnnouncement(ctx, c))
	all, err := other.Announcements(ctx)
	must(t, "Announcements", err)
	var ids []string
	for _, x := range all {
		ids = append(ids, x.ID)
	}
	// Newest first, then by id; expired ones too.
	if want := []string{"b", "x", "a"}; !slices.Equal(ids, want) {
		t.Errorf("Announcements = %v, want %v", ids, want)
	}
	if !equalAnnouncement(all[1], a) {
		t.Errorf("edited announcement = %+v, want %+v", all[1], a)
	}
	if len(all[0].Audience) != 0 {
		t.Errorf("audience of an announcement stored without one = %q", all[0].Audience)
	}
	if _, err := s.Announcement(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown announcement: %v, want ErrNotFound", err)
	}
}

func equalAnnouncement(a, b store.Announcement) bool {
	return a.ID == b.ID && a.Severity == b.Severity && a.TitleDE == b.TitleDE && a.TitleEN == b.TitleEN &&
		a.BodyDE == b.BodyDE && a.BodyEN == b.BodyEN && a.ValidFrom.Equal(b.ValidFrom) && a.ValidUntil.Equal(b.ValidUntil) &&
		slices.Equal(a.Audience, b.Audience) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func testReleases(t *testing.T, open Opener) {
	s := open(t)
	if _, err := s.Release(ctx, "stable"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no release yet: %v, want ErrNotFound", err)
	}
	r := store.Release{Channel: "stable", Manifest: []byte("{\"version\":\"1\"}\x00\xff"), Signature: []byte("sig1"), PublishedAt: t0}
	must(t, "PutRelease", s.PutRelease(ctx, r))
	r.Manifest, r.Signature, r.PublishedAt = []byte(`{"version":"2"}`), []byte("sig2"), t0.Add(time.Hour)
	must(t, "PutRelease", s.PutRelease(ctx, r))
	must(t, "PutRelease", s.PutRelease(ctx, store.Release{Channel: "beta", Manifest: []byte("b"), Signature: []byte("s"), PublishedAt: t0}))
	got, err := s.Release(ctx, "stable")
	if err != nil || string(got.Manifest) != `{"version":"2"}` || string(got.Signature) != "sig2" || !got.PublishedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("Release = %+v, %v", got, err)
	}
}

func testPrune(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	addUser(t, s, "bernd")
	startEnrollment(t, s, "anna", "old", "code1") // expires at t0+15min
	startEnrollment(t, s, "bernd", "new", "code2")
	must(t, "ConfirmEnrollment", s.ConfirmEnrollment(ctx, "new", t0, t0.Add(time.Hour)))
	if _, err := s.AddFailure(ctx, "session:anna", t0, t0.Add(-time.Hour)); err != nil {
		t.Fatalf("AddFailure: %v", err)
	}
	must(t, "Prune", s.Prune(ctx, t0.Add(30*time.Minute)))
	if _, err := s.Enrollment(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired enrollment kept: %v", err)
	}
	if _, err := s.Enrollment(ctx, "new"); err != nil {
		t.Errorf("enrollment within its registration time pruned: %v", err)
	}
	// Failures count for a day.
	if n, _ := s.AddFailure(ctx, "session:anna", t0.Add(time.Hour), t0.Add(-time.Hour)); n != 2 {
		t.Errorf("failures after prune = %d, want 2", n)
	}
	must(t, "Prune", s.Prune(ctx, t0.Add(26*time.Hour)))
	if n, _ := s.AddFailure(ctx, "session:anna", t0.Add(26*time.Hour), t0.Add(-time.Hour)); n != 1 {
		t.Errorf("failures after a day = %d, want 1", n)
	}
}

// parallel runs n calls of fn at once, spread over two handles on the
// same database as over two portal instances, and returns their errors.
// testSessionAuthorisation holds for every Store: the credential lookup
// brings the user along, and AuthoriseSession spends the step and admits
// the device together or not at all.
func testSessionAuthorisation(t *testing.T, open Opener) {
	s := open(t)
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

func parallel(t *testing.T, open Opener, n int, fn func(s store.Store, i int) error) []error {
	t.Helper()
	handles := []store.Store{open(t), open(t)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(handles[i%2], i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// countResults checks that every error is nil or want and returns how
// many were nil.
func countResults(t *testing.T, errs []error, want error) int {
	t.Helper()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, want):
			t.Errorf("call %d: %v, want nil or %v", i, err, want)
		}
	}
	return ok
}

const parallelCalls = 16

// A code typed once and sent twice (or replayed) at both instances at the
// same moment authorises once.
func testParallelTOTPStep(t *testing.T, open Opener) {
	errs := parallel(t, open, parallelCalls, func(s store.Store, _ int) error {
		return s.UseTOTPStep(ctx, "anna#k", 100, t0, "session:anna")
	})
	if ok := countResults(t, errs, store.ErrConflict); ok != 1 {
		t.Errorf("%d of %d parallel uses of one step succeeded, want 1", ok, parallelCalls)
	}
}

func testParallelConfirmEnrollment(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	startEnrollment(t, s, "anna", "e1", "code1")
	errs := parallel(t, open, parallelCalls, func(s store.Store, i int) error {
		return s.ConfirmEnrollment(ctx, "e1", t0.Add(time.Duration(i)*time.Second), t0.Add(time.Hour))
	})
	if ok := countResults(t, errs, store.ErrConflict); ok != 1 {
		t.Errorf("%d of %d parallel confirmations succeeded, want 1", ok, parallelCalls)
	}
}

// A double click on two instances leaves one pending enrollment. Only
// the starts of the last moment can race, so each round checks.
func testParallelPutEnrollment(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	must(t, "SetActivationCode", s.SetActivationCode(ctx, store.ActivationCode{User: "anna", Hash: "code1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	for round := range 4 {
		id := func(i int) string { return fmt.Sprintf("r%de%d", round, i) }
		errs := parallel(t, open, parallelCalls, func(s store.Store, i int) error {
			return s.PutEnrollment(ctx, store.Enrollment{IDHash: id(i), User: "anna", Secret: "S", CodeHash: "code1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		})
		countResults(t, errs, nil)
		kept := 0
		for i := range parallelCalls {
			_, err := s.Enrollment(ctx, id(i))
			switch {
			case err == nil:
				kept++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("Enrollment: %v", err)
			}
		}
		if kept != 1 {
			t.Fatalf("round %d: %d pending enrollments after %d parallel starts, want 1", round, kept, parallelCalls)
		}
	}
}

// Every taker pays, whichever instance it reached: none is lost to a
// read-modify-write race.
func testParallelTakeToken(t *testing.T, open Opener) {
	const every, perCaller = time.Second, 5
	errs := parallel(t, open, parallelCalls, func(s store.Store, _ int) error {
		for range perCaller {
			if err := s.TakeToken(ctx, "src:herd", t0, every); err != nil {
				return err
			}
		}
		return nil
	})
	countResults(t, errs, nil)
	s := open(t)
	const burst = 1
	w, err := s.TokenWait(ctx, "src:herd", t0, every, burst)
	must(t, "TokenWait", err)
	if want := parallelCalls * perCaller * every; w != want {
		t.Errorf("wait after %d parallel takes = %v, want %v", parallelCalls*perCaller, w, want)
	}
}

// Parallel failures of one subject are counted one after the other, so
// exactly one of them sees the count that locks.
func testParallelAddFailure(t *testing.T, open Opener) {
	const perCaller = 4
	counts := make([]int, parallelCalls*perCaller)
	errs := parallel(t, open, parallelCalls, func(s store.Store, i int) error {
		for j := range perCaller {
			n, err := s.AddFailure(ctx, "session:anna", t0, t0.Add(-time.Minute))
			if err != nil {
				return err
			}
			counts[i*perCaller+j] = n
		}
		return nil
	})
	countResults(t, errs, nil)
	slices.Sort(counts)
	for i, n := range counts {
		if n != i+1 {
			t.Fatalf("counts returned by parallel failures = %v, want 1 … %d once each", counts, len(counts))
		}
	}
}

// Devices registering at once on both instances get distinct addresses,
// and one public key goes to one device only.
func testParallelRegisterDevice(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.77.0.0/16"), First: netip.MustParseAddr("10.77.0.2")}
	addrs := make([]netip.Addr, parallelCalls)
	errs := parallel(t, open, parallelCalls, func(s store.Store, i int) error {
		d, err := s.RegisterDevice(ctx, store.Device{ID: fmt.Sprint("d", i), User: "anna", PublicKey: fmt.Sprint("k", i),
			CredentialHash: fmt.Sprint("c", i), EnrollmentHash: fmt.Sprint("e", i), CreatedAt: t0}, pool)
		addrs[i] = d.Address
		return err
	})
	countResults(t, errs, nil)
	slices.SortFunc(addrs, netip.Addr.Compare)
	if got := len(slices.Compact(addrs)); got != parallelCalls {
		t.Errorf("%d distinct addresses for %d devices: %v", got, parallelCalls, addrs)
	}

	errs = parallel(t, open, parallelCalls, func(s store.Store, i int) error {
		_, err := s.RegisterDevice(ctx, store.Device{ID: fmt.Sprint("x", i), User: "anna", PublicKey: "same-key",
			CredentialHash: fmt.Sprint("xc", i), EnrollmentHash: fmt.Sprint("xe", i), CreatedAt: t0}, pool)
		return err
	})
	if ok := countResults(t, errs, store.ErrConflict); ok != 1 {
		t.Errorf("%d of %d devices with one public key registered, want 1", ok, parallelCalls)
	}
}

// Every change counts in the revision, whichever instance made it, so no
// server keeps serving a stale cached list.
func testParallelPutAnnouncement(t *testing.T, open Opener) {
	s := open(t)
	r0, err := s.Revision(ctx)
	must(t, "Revision", err)
	errs := parallel(t, open, parallelCalls, func(s store.Store, i int) error {
		return s.PutAnnouncement(ctx, store.Announcement{ID: fmt.Sprint("a", i%4), Severity: "info", ValidFrom: t0, ValidUntil: t0.Add(time.Hour), UpdatedAt: t0})
	})
	countResults(t, errs, nil)
	if r, err := s.Revision(ctx); err != nil || r != r0+parallelCalls {
		t.Errorf("revision after %d parallel changes = %d, %v; want %d", parallelCalls, r, err, r0+parallelCalls)
	}
	if all, err := s.Announcements(ctx); err != nil || len(all) != 4 {
		t.Errorf("Announcements = %d, %v; want 4", len(all), err)
	}
}
