package pgtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// DataDir returns the data directory of the test binary's server (all
// its databases, the WAL in pg_wal included) after a CHECKPOINT, so what
// was committed has reached the table files too. Tests read it to check
// what reaches the disk.
func DataDir(tb testing.TB) string {
	tb.Helper()
	if srv == nil {
		tb.Fatalf("pgtest: DataDir before NewDatabase")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.admin(ctx, "CHECKPOINT"); err != nil {
		tb.Fatalf("pgtest: checkpoint: %v", err)
	}
	return filepath.Join(srv.dir, "data")
}
