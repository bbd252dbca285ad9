package storetest

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/sealing"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// The audit log and secrets-at-rest tests (store.AuditLog,
// store.SecretRows, store.Sealed) run in the same suite.
func init() {
	tests = append(tests, []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"audit_log_appended_and_paged", testAuditLog},
		{"parallel_audit_append", testParallelAuditAppend},
		{"stored_secrets_replaced_only_if_unchanged", testStoredSecrets},
		{"confirmed_enrollment_keeps_no_secret", testConfirmedEnrollmentKeepsNoSecret},
		{"sealed_secrets", testSealedSecrets},
		{"clear_text_secrets_sealed_on_open", testClearTextSealedOnOpen},
	}...)
}

func testAuditLog(t *testing.T, open Opener) {
	s := open(t)
	if got, err := s.AuditEvents(ctx, 0, time.Time{}, 10); err != nil || len(got) != 0 {
		t.Fatalf("empty audit log = %v, %v", got, err)
	}
	ev := func(i int, action string) store.AuditEvent {
		return store.AuditEvent{At: t0.Add(time.Duration(i) * time.Minute), Actor: "admin:root", Action: action, Subject: "anna",
			Details: map[string]string{"n": strings.Repeat("x", i)}}
	}
	must(t, "AppendAudit", s.AppendAudit(ctx, ev(0, "user.add"), ev(1, "user.code")))
	must(t, "AppendAudit", s.AppendAudit(ctx, ev(2, "session.authorise")))
	must(t, "AppendAudit", s.AppendAudit(ctx))
	s2 := open(t) // another instance appends to the same log
	must(t, "AppendAudit", s2.AppendAudit(ctx, ev(3, "device.revoke"), ev(4, "lockout")))

	page, err := s.AuditEvents(ctx, 0, time.Time{}, 3)
	if err != nil || len(page) != 3 {
		t.Fatalf("first page = %v, %v; want 3 events", page, err)
	}
	rest, err := s.AuditEvents(ctx, page[2].ID, time.Time{}, 3)
	if err != nil || len(rest) != 2 {
		t.Fatalf("second page = %v, %v; want 2 events", rest, err)
	}
	all := append(page, rest...)
	for i, e := range all {
		want := ev(i, e.Action)
		if i > 0 && e.ID <= all[i-1].ID {
			t.Errorf("event %d has id %d after %d: ids must increase", i, e.ID, all[i-1].ID)
		}
		if !e.At.Equal(want.At) || e.Actor != "admin:root" || e.Subject != "anna" || e.Details["n"] != want.Details["n"] {
			t.Errorf("event %d = %+v, want %+v", i, e, want)
		}
	}
	if got := []string{all[0].Action, all[2].Action, all[4].Action}; !slices.Equal(got, []string{"user.add", "session.authorise", "lockout"}) {
		t.Errorf("actions in order = %v", got)
	}
	since, err := s.AuditEvents(ctx, 0, t0.Add(3*time.Minute), 10)
	if err != nil || len(since) != 2 || since[0].Action != "device.revoke" {
		t.Errorf("events since t0+3min = %+v, %v; want device.revoke, lockout", since, err)
	}
}

// Appends from two instances at once all land, each with its own id.
func testParallelAuditAppend(t *testing.T, open Opener) {
	errs := parallel(t, open, 40, func(s store.Store, i int) error {
		return s.AppendAudit(ctx, store.AuditEvent{At: t0, Actor: "portal", Action: "session.authorise", Subject: "u"},
			store.AuditEvent{At: t0, Actor: "portal", Action: "session.end", Subject: "u"})
	})
	countResults(t, errs, nil)
	got, err := open(t).AuditEvents(ctx, 0, time.Time{}, 1000)
	if err != nil || len(got) != 80 {
		t.Fatalf("events after 40 parallel appends of 2 = %d, %v; want 80", len(got), err)
	}
	ids := map[int64]bool{}
	for _, e := range got {
		ids[e.ID] = true
	}
	if len(ids) != 80 {
		t.Errorf("%d distinct ids among 80 events", len(ids))
	}
}

func testStoredSecrets(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	addUser(t, s, "bernd")
	must(t, "CreateUser", s.CreateUser(ctx, store.User{Name: "clara", DisplayName: "C", CreatedAt: t0, TOTPSecret: "CLARASECRET", EnrolledAt: t0}))
	startEnrollment(t, s, "anna", "e1", "code1")
	got, err := s.StoredSecrets(ctx)
	if err != nil {
		t.Fatalf("StoredSecrets: %v", err)
	}
	slices.SortFunc(got, func(a, b store.StoredSecret) int { return strings.Compare(a.Key, b.Key) })
	want := []store.StoredSecret{
		{Kind: store.SecretOfUser, Key: "clara", User: "clara", Value: "CLARASECRET"},
		{Kind: store.SecretOfEnrollment, Key: "e1", User: "anna", Value: "SECRETe1"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("StoredSecrets = %+v, want %+v", got, want)
	}
	for _, x := range want {
		ok, err := s.ReplaceSecret(ctx, x, "NEW"+x.Key)
		if err != nil || !ok {
			t.Errorf("ReplaceSecret(%s) = %v, %v", x.Key, ok, err)
		}
		// The row no longer holds x.Value: a second replace changes nothing.
		if ok, err := s.ReplaceSecret(ctx, x, "OTHER"); err != nil || ok {
			t.Errorf("ReplaceSecret of a changed row = %v, %v; want false", ok, err)
		}
	}
	if u, _ := s.User(ctx, "clara"); u.TOTPSecret != "NEWclara" {
		t.Errorf("user secret after replace = %q", u.TOTPSecret)
	}
	if e, _ := s.Enrollment(ctx, "e1"); e.Secret != "NEWe1" {
		t.Errorf("enrollment secret after replace = %q", e.Secret)
	}
	if ok, err := s.ReplaceSecret(ctx, store.StoredSecret{Kind: store.SecretOfUser, Key: "nobody", Value: ""}, "X"); err != nil || ok {
		t.Errorf("ReplaceSecret of an unknown user = %v, %v", ok, err)
	}
	must(t, "Scrub", s.Scrub(ctx))
}

// Once confirmed, the secret lives in the user's row only.
func testConfirmedEnrollmentKeepsNoSecret(t *testing.T, open Opener) {
	s := open(t)
	addUser(t, s, "anna")
	startEnrollment(t, s, "anna", "e1", "code1")
	must(t, "ConfirmEnrollment", s.ConfirmEnrollment(ctx, "e1", t0, t0.Add(time.Hour)))
	if e, err := s.Enrollment(ctx, "e1"); err != nil || e.Secret != "" {
		t.Errorf("confirmed enrollment = %+v, %v; want no secret", e, err)
	}
	got, err := s.StoredSecrets(ctx)
	if err != nil || len(got) != 1 || got[0].Kind != store.SecretOfUser {
		t.Errorf("StoredSecrets after confirming = %+v, %v; want only the user's", got, err)
	}
}

func newKeyring(tb testing.TB) *sealing.Keyring {
	tb.Helper()
	k, err := sealing.Open(filepath.Join(tb.TempDir(), "secrets.key"))
	if err != nil {
		tb.Fatalf("sealing.Open: %v", err)
	}
	return k
}

// Through Sealed, the store keeps only sealed values; the portal sees
// clear text; a rotation re-seals everything with the new key.
func testSealedSecrets(t *testing.T, open Opener) {
	keys := newKeyring(t)
	raw := open(t)
	s, err := store.SealWith(ctx, raw, keys)
	if err != nil {
		t.Fatalf("SealWith: %v", err)
	}
	must(t, "CreateUser", s.CreateUser(ctx, store.User{Name: "clara", DisplayName: "C", CreatedAt: t0, TOTPSecret: "CLARASECRET", EnrolledAt: t0}))
	addUser(t, s, "anna")
	addUser(t, s, "bernd")
	startEnrollment(t, s, "anna", "e1", "code1")
	must(t, "ConfirmEnrollment", s.ConfirmEnrollment(ctx, "e1", t0, t0.Add(time.Hour)))
	startEnrollment(t, s, "bernd", "b1", "code2")

	checkSealed := func(keyID uint32) {
		t.Helper()
		rows, err := raw.StoredSecrets(ctx)
		if err != nil || len(rows) != 3 {
			t.Fatalf("StoredSecrets = %+v, %v; want 3", rows, err)
		}
		for _, r := range rows {
			if id, ok := keys.KeyID(r.Value); !ok || id != keyID || strings.Contains(r.Value, "SECRET") {
				t.Errorf("stored %s secret of %s = %q, want sealed with key %d", r.Kind, r.User, r.Value, keyID)
			}
		}
		want := map[string]string{"clara": "CLARASECRET", "anna": "SECRETe1"}
		for user, secret := range want {
			if u, err := s.User(ctx, user); err != nil || u.TOTPSecret != secret {
				t.Errorf("User(%s) secret = %q, %v; want %q", user, u.TOTPSecret, err, secret)
			}
		}
		if e, err := s.Enrollment(ctx, "b1"); err != nil || e.Secret != "SECRETb1" {
			t.Errorf("pending enrollment secret = %q, %v", e.Secret, err)
		}
		us, err := s.Users(ctx)
		if err != nil || len(us) != 3 || us[2].TOTPSecret != "CLARASECRET" {
			t.Errorf("Users = %+v, %v", us, err)
		}
	}
	checkSealed(1)
	if _, err := keys.Add(); err != nil {
		t.Fatalf("Add: %v", err)
	}
	n, err := store.Reseal(ctx, raw, keys)
	if err != nil || n != 3 {
		t.Fatalf("Reseal after a new key = %d, %v; want 3", n, err)
	}
	checkSealed(2)
	if n, err := store.Reseal(ctx, raw, keys); err != nil || n != 0 {
		t.Errorf("second Reseal = %d, %v; want nothing to do", n, err)
	}
	// A sealed value moved to another user's row does not open there.
	rows, _ := raw.StoredSecrets(ctx)
	for _, r := range rows {
		if r.User == "clara" {
			if ok, err := raw.ReplaceSecret(ctx, store.StoredSecret{Kind: store.SecretOfEnrollment, Key: "b1", Value: mustEnrollmentSecret(t, raw, "b1")}, r.Value); !ok || err != nil {
				t.Fatalf("moving a sealed secret: %v, %v", ok, err)
			}
		}
	}
	if _, err := s.Enrollment(ctx, "b1"); err == nil {
		t.Error("clara's sealed secret opened as bernd's")
	}
}

func mustEnrollmentSecret(tb testing.TB, s store.Store, id string) string {
	tb.Helper()
	e, err := s.Enrollment(ctx, id)
	if err != nil {
		tb.Fatalf("Enrollment: %v", err)
	}
	return e.Secret
}

// A database of an older version holds clear text: opening it sealed
// seals every row, and reading it unsealed is refused meanwhile.
func testClearTextSealedOnOpen(t *testing.T, open Opener) {
	raw := open(t)
	must(t, "CreateUser", raw.CreateUser(ctx, store.User{Name: "clara", DisplayName: "C", CreatedAt: t0, TOTPSecret: "CLARASECRET", EnrolledAt: t0}))
	addUser(t, raw, "anna")
	startEnrollment(t, raw, "anna", "e1", "code1")
	keys := newKeyring(t)
	if _, err := store.Sealed(raw, keys).User(ctx, "clara"); !errors.Is(err, store.ErrNotSealed) {
		t.Errorf("reading a clear-text secret through Sealed: %v, want ErrNotSealed", err)
	}
	s, err := store.SealWith(ctx, raw, keys)
	if err != nil {
		t.Fatalf("SealWith: %v", err)
	}
	rows, _ := raw.StoredSecrets(ctx)
	for _, r := range rows {
		if _, ok := keys.KeyID(r.Value); !ok {
			t.Errorf("%s secret of %s still clear: %q", r.Kind, r.User, r.Value)
		}
	}
	if u, err := s.User(ctx, "clara"); err != nil || u.TOTPSecret != "CLARASECRET" {
		t.Errorf("migrated secret = %q, %v", u.TOTPSecret, err)
	}
	if e, err := s.Enrollment(ctx, "e1"); err != nil || e.Secret != "SECRETe1" {
		t.Errorf("migrated enrollment secret = %q, %v", e.Secret, err)
	}
}
