package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/org/store/storetest"
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

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(tb testing.TB) storetest.Opener {
		path := filepath.Join(tb.TempDir(), "p.db")
		return func(tb testing.TB) store.Store { return open(tb, path) }
	})
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
	if err := s.CreateUser(ctx, store.User{Name: "anna", DisplayName: "Anna", CreatedAt: t0, Source: store.SourceCSV}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.ExecForTest(ctx, `DROP TABLE rate_buckets; DROP TABLE audit_log; DROP TABLE console_sessions; DROP TABLE console_accounts; DROP TABLE device_reports; DROP TABLE device_gateways;
		ALTER TABLE users DROP COLUMN source; ALTER TABLE users DROP COLUMN disabled_at; PRAGMA user_version = 1`); err != nil {
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
	// Users from before sources were recorded were all added by hand.
	if u, err := s2.User(ctx, "anna"); err != nil || u.Source != store.SourceManual || u.Disabled() {
		t.Errorf("user after migration = %+v, %v; want source manual, enabled", u, err)
	}
}
