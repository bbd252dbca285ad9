package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// The web console's accounts and sessions (store.ConsoleStore).
func init() {
	tests = append(tests, []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"console_accounts", testConsoleAccounts},
		{"console_sessions_shared_and_expire", testConsoleSessions},
		{"console_secret_sealed_and_resealed", testConsoleSecretSealed},
	}...)
}

func testConsoleAccounts(t *testing.T, open Opener) {
	s := open(t)
	a := store.ConsoleAccount{Name: "it-maria", Role: store.RoleIT, PasswordHash: "$argon2id$x", TOTPSecret: "JBSWY3DP", CreatedAt: t0}
	must(t, "CreateConsoleAccount", s.CreateConsoleAccount(ctx, a))
	if err := s.CreateConsoleAccount(ctx, a); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateConsoleAccount = %v, want ErrConflict", err)
	}
	got, err := open(t).ConsoleAccount(ctx, "it-maria")
	if err != nil || got != a {
		t.Fatalf("ConsoleAccount = %+v, %v; want %+v", got, err, a)
	}
	if _, err := s.ConsoleAccount(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown ConsoleAccount = %v, want ErrNotFound", err)
	}
	// An employee of the same name is someone else.
	if _, err := s.User(ctx, "it-maria"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(console account) = %v, want ErrNotFound", err)
	}
}

func testConsoleSessions(t *testing.T, open Opener) {
	s := open(t)
	must(t, "CreateConsoleAccount", s.CreateConsoleAccount(ctx, store.ConsoleAccount{Name: "hd", Role: store.RoleHelpdesk, PasswordHash: "h", TOTPSecret: "S", CreatedAt: t0}))
	cs := store.ConsoleSession{IDHash: "h1", Account: "hd", CreatedAt: t0, ExpiresAt: t0.Add(8 * time.Hour)}
	must(t, "PutConsoleSession", s.PutConsoleSession(ctx, cs))
	other := open(t) // another portal instance serves the same browser
	if got, err := other.ConsoleSession(ctx, "h1", t0.Add(time.Hour)); err != nil || got != cs {
		t.Fatalf("ConsoleSession = %+v, %v; want %+v", got, err, cs)
	}
	if _, err := other.ConsoleSession(ctx, "h1", cs.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired ConsoleSession = %v, want ErrNotFound", err)
	}
	must(t, "PutConsoleSession", s.PutConsoleSession(ctx, store.ConsoleSession{IDHash: "h2", Account: "hd", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	must(t, "DeleteConsoleSession", other.DeleteConsoleSession(ctx, "h1"))
	must(t, "DeleteConsoleSession twice", other.DeleteConsoleSession(ctx, "h1"))
	if _, err := s.ConsoleSession(ctx, "h1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsoleSession after sign-out = %v, want ErrNotFound", err)
	}
	must(t, "Prune", s.Prune(ctx, t0.Add(2*time.Hour)))
	if _, err := s.ConsoleSession(ctx, "h2", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsoleSession after Prune = %v, want ErrNotFound (pruned)", err)
	}
	if err := s.PutConsoleSession(ctx, store.ConsoleSession{IDHash: "h3", Account: "nobody", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err == nil {
		t.Fatal("PutConsoleSession of an unknown account succeeded")
	}
}

func testConsoleSecretSealed(t *testing.T, open Opener) {
	keys := newKeyring(t)
	raw := open(t)
	s, err := store.SealWith(ctx, raw, keys)
	if err != nil {
		t.Fatalf("SealWith: %v", err)
	}
	must(t, "CreateConsoleAccount", s.CreateConsoleAccount(ctx, store.ConsoleAccount{Name: "anna", Role: store.RoleIT, PasswordHash: "h", TOTPSecret: "CONSOLESECRET", CreatedAt: t0}))
	// An employee of the same name: her sealed secret must not open as
	// the console account's.
	must(t, "CreateUser", s.CreateUser(ctx, store.User{Name: "anna", DisplayName: "A", CreatedAt: t0, TOTPSecret: "USERSECRET", EnrolledAt: t0}))
	check := func(keyID uint32) {
		t.Helper()
		rows, err := raw.StoredSecrets(ctx)
		if err != nil || len(rows) != 2 {
			t.Fatalf("StoredSecrets = %+v, %v; want 2", rows, err)
		}
		for _, r := range rows {
			if id, ok := keys.KeyID(r.Value); !ok || id != keyID || strings.Contains(r.Value, "SECRET") {
				t.Errorf("stored %s secret of %s = %q, want sealed with key %d", r.Kind, r.User, r.Value, keyID)
			}
		}
		if a, err := s.ConsoleAccount(ctx, "anna"); err != nil || a.TOTPSecret != "CONSOLESECRET" {
			t.Errorf("ConsoleAccount secret = %q, %v", a.TOTPSecret, err)
		}
	}
	check(1)
	// Swap the rows' values in the database: each must refuse to open.
	a, _ := raw.ConsoleAccount(ctx, "anna")
	u, _ := raw.User(ctx, "anna")
	if ok, err := raw.ReplaceSecret(ctx, store.StoredSecret{Kind: store.SecretOfConsole, Key: "anna", User: "anna", Value: a.TOTPSecret}, u.TOTPSecret); !ok || err != nil {
		t.Fatalf("ReplaceSecret = %v, %v", ok, err)
	}
	if _, err := s.ConsoleAccount(ctx, "anna"); err == nil {
		t.Error("an employee's sealed secret opened as a console account's")
	}
	must(t, "ReplaceSecret back", func() error {
		_, err := raw.ReplaceSecret(ctx, store.StoredSecret{Kind: store.SecretOfConsole, Key: "anna", User: "anna", Value: u.TOTPSecret}, a.TOTPSecret)
		return err
	}())
	if _, err := keys.Add(); err != nil {
		t.Fatalf("keys.Add: %v", err)
	}
	if n, err := store.Reseal(ctx, raw, keys); err != nil || n != 2 {
		t.Fatalf("Reseal = %d, %v; want 2", n, err)
	}
	check(2)
}
