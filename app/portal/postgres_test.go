package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/org/store/pgtest"
)

// With DIENSTWEG_PORTAL_DATABASE set, the admin commands write to
// PostgreSQL, not to DIR/portal.db. Not parallel: it sets the variable
// for the whole process (parallel tests wait until it has ended).
func TestAdminCommandsOnPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	t.Setenv(envDatabase, url)
	data := t.TempDir()
	runOK(t, "user", "add", "anna.schmidt", "--data", data, "--groups", "bauamt")
	runOK(t, "announce", "post", "--data", data, "--id", "wartung", "--severity", "maintenance",
		"--title-de", "Wartung", "--title-en", "Maintenance", "--from", "2026-03-07 08:00", "--until", "2026-03-07 12:00")
	if out := runOK(t, "user", "list", "--data", data); !strings.Contains(out, "anna.schmidt") {
		t.Errorf("user list = %q", out)
	}

	st, err := store.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	defer st.Close()
	if u, err := st.User(context.Background(), "anna.schmidt"); err != nil || u.Groups[0] != "bauamt" {
		t.Errorf("user in postgres = %+v, %v", u, err)
	}
	if _, err := st.Announcement(context.Background(), "wartung"); err != nil {
		t.Errorf("announcement in postgres: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "portal.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("portal.db made beside postgres: %v", err)
	}
}
