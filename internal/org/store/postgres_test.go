package store_test

import (
	"context"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/org/store/pgtest"
	"github.com/dienstweg/dienstweg/internal/org/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func openPostgres(tb testing.TB, url string) *store.Postgres {
	tb.Helper()
	s, err := store.OpenPostgres(context.Background(), url)
	if err != nil {
		tb.Fatalf("OpenPostgres: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(tb testing.TB) storetest.Opener {
		url := pgtest.NewDatabase(tb)
		return func(tb testing.TB) store.Store { return openPostgres(tb, url) }
	})
}
