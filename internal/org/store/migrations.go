package store

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// migrationFiles holds each store's schema history, one directory per
// store: migrations/sqlite and migrations/postgres. A file is named
// NNNN_what.sql; versions count 1, 2, 3 … without gaps, and the same
// number means the same change in both directories. Never edit a
// released file: append a new one.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string // the file name, for error messages
	sql     string
}

// loadMigrations reads the migrations of one store directory in order.
func loadMigrations(dir string) ([]migration, error) {
	return readMigrations(migrationFiles, path.Join("migrations", dir))
}

func readMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s/%s: name is not NNNN_what.sql", dir, e.Name())
		}
		// ReadDir sorts by name, so a gap or a duplicate shows here.
		if v != len(out)+1 {
			return nil, fmt.Errorf("migration %s/%s: version %d, want %d (gap or duplicate number)", dir, e.Name(), v, len(out)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return out, nil
}
