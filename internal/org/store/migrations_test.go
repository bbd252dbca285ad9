package store

import (
	"strings"
	"testing"
	"testing/fstest"
)

// The same number means the same change in both stores: a migration
// added to one store only, or numbered apart, fails here.
func TestMigrationsMatchAcrossStores(t *testing.T) {
	t.Parallel()
	lite, err := loadMigrations("sqlite")
	if err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	pg, err := loadMigrations("postgres")
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name {
			t.Errorf("migration %d is %s for sqlite, %s for postgres", i+1, lite[i].name, pg[i].name)
		}
	}
}

func TestReadMigrationsRefusesGapsAndDuplicates(t *testing.T) {
	t.Parallel()
	file := &fstest.MapFile{Data: []byte("SELECT 1;")}
	for _, tc := range []struct {
		name  string
		files []string
		want  string // in the error; empty: no error
	}{
		{"in_order", []string{"0001_a.sql", "0002_b.sql"}, ""},
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "version 3, want 2"},
		{"duplicate", []string{"0001_a.sql", "0002_b.sql", "0002_c.sql"}, "version 2, want 3"},
		{"no_number", []string{"0001_a.sql", "b.sql"}, "not NNNN_what.sql"},
		{"short_number", []string{"1_a.sql"}, "not NNNN_what.sql"},
		{"not_sql", []string{"0001_a.txt"}, "not NNNN_what.sql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["m/"+f] = file
			}
			ms, err := readMigrations(fsys, "m")
			switch {
			case tc.want == "" && (err != nil || len(ms) != len(tc.files)):
				t.Errorf("readMigrations = %d, %v; want %d", len(ms), err, len(tc.files))
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("readMigrations error = %v, want one saying %q", err, tc.want)
			}
		})
	}
}
