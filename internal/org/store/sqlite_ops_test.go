package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/sealing"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// No statement can change or delete an audit entry: the schema's
// triggers refuse it, whatever code or person sends it.
func TestAuditLogAppendOnlyInSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "p.db"))
	if err := s.AppendAudit(ctx, store.AuditEvent{At: t0, Actor: "admin:root", Action: "user.add", Subject: "anna"}); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	for _, q := range []string{
		`UPDATE audit_log SET actor = 'someone else'`,
		`DELETE FROM audit_log`,
		`INSERT OR REPLACE INTO audit_log(id, at, actor, action, subject) SELECT id, at, 'x', action, subject FROM audit_log`,
	} {
		if err := s.ExecForTest(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", q, err)
		}
	}
	got, err := s.AuditEvents(ctx, 0, t0.Add(-1), 10)
	if err != nil || len(got) != 1 || got[0].Actor != "admin:root" {
		t.Errorf("audit log after the attempts = %+v, %v", got, err)
	}
}

// A database written by a version before sealing holds clear-text secrets
// in its file and WAL; after opening it sealed, neither holds them.
func TestClearTextMigrationLeavesNoTraceInFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "p.db")
	old := open(t, path)
	const userSecret, enrollSecret = "CLEARUSERSECRETAAAAAAAAAAAAAAAAA", "CLEARENROLLSECRETBBBBBBBBBBBBBBB"
	if err := old.CreateUser(ctx, store.User{Name: "anna", DisplayName: "A", CreatedAt: t0, TOTPSecret: userSecret, EnrolledAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := old.CreateUser(ctx, store.User{Name: "bernd", DisplayName: "B", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := old.PutEnrollment(ctx, store.Enrollment{IDHash: "e1", User: "bernd", Secret: enrollSecret, CodeHash: "c", CreatedAt: t0, ExpiresAt: t0.Add(24 * 3600e9)}); err != nil {
		t.Fatal(err)
	}
	old.Close()
	if !filesContain(t, path, userSecret) {
		t.Fatal("the old database does not hold the clear text it should (test setup)")
	}

	keys, err := sealing.Open(filepath.Join(dir, "keys", "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.SealWith(ctx, open(t, path), keys)
	if err != nil {
		t.Fatalf("SealWith: %v", err)
	}
	for _, secret := range []string{userSecret, enrollSecret} {
		if filesContain(t, path, secret) {
			t.Errorf("database files still hold %s after sealing", secret)
		}
	}
	if u, err := s.User(ctx, "anna"); err != nil || u.TOTPSecret != userSecret {
		t.Errorf("sealed secret reads back as %q, %v", u.TOTPSecret, err)
	}
}

// filesContain reports whether the database at path, its WAL or its
// shared-memory file contain s.
func filesContain(tb testing.TB, path, s string) bool {
	tb.Helper()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}
