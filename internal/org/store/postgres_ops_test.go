package store_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dienstweg/dienstweg/internal/org/sealing"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/org/store/pgtest"
)

// No statement can change, delete or truncate an audit entry on
// PostgreSQL either.
func TestPostgresAuditLogAppendOnlyInSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s := openPostgres(t, url)
	if err := s.AppendAudit(ctx, store.AuditEvent{At: t0, Actor: "admin:root", Action: "user.add", Subject: "anna"}); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, q := range []string{
		`UPDATE audit_log SET actor = 'someone else'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		if _, err := c.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", q, err)
		}
	}
	got, err := s.AuditEvents(ctx, 0, time.Time{}, 10)
	if err != nil || len(got) < 1 || got[0].Actor != "admin:root" {
		t.Errorf("audit log after the attempts = %+v, %v", got, err)
	}
}

// The server's data directory (table files and WAL) holds no secret
// written through the sealed store.
func TestPostgresNoSecretInDataDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys, err := sealing.Open(filepath.Join(t.TempDir(), "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.SealWith(ctx, openPostgres(t, pgtest.NewDatabase(t)), keys)
	if err != nil {
		t.Fatal(err)
	}
	const userSecret, pendingSecret = "PGUSERSECRETQQQQQQQQQQQQQQQQQQQQ", "PGPENDINGSECRETRRRRRRRRRRRRRRRRR"
	for _, u := range []string{"anna", "bernd"} {
		if err := s.CreateUser(ctx, store.User{Name: u, DisplayName: u, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetActivationCode(ctx, store.ActivationCode{User: "anna", Hash: "h", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	must(s.PutEnrollment(ctx, store.Enrollment{IDHash: "e1", User: "anna", Secret: userSecret, CodeHash: "h", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	must(s.ConfirmEnrollment(ctx, "e1", t0, t0.Add(time.Hour)))
	must(s.PutEnrollment(ctx, store.Enrollment{IDHash: "b1", User: "bernd", Secret: pendingSecret, CodeHash: "h", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	if u, err := s.User(ctx, "anna"); err != nil || u.TOTPSecret != userSecret {
		t.Fatalf("User = %q, %v", u.TOTPSecret, err)
	}

	files := 0
	err = filepath.WalkDir(pgtest.DataDir(t), func(p string, d fs.DirEntry, err error) error {
		// Parallel tests drop their databases meanwhile; ours stays.
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil // the server may remove temporary files meanwhile
		}
		files++
		for _, secret := range []string{userSecret, pendingSecret} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %s in clear text", p, secret)
			}
		}
		return nil
	})
	if err != nil || files < 100 {
		t.Fatalf("walking the data directory: %v (%d files read)", err, files)
	}
}
