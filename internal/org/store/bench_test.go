package store_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/org/store/pgtest"
)

// BenchmarkSessionAuthorisation runs the store calls of one morning
// session authorisation (POST /api/v1/session) from many goroutines at
// once (see sessionCalls).
//
//	go test -run '^$' -bench SessionAuthorisation -cpu 2,16 ./internal/org/store/
func BenchmarkSessionAuthorisation(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchSession(b, open(b, filepath.Join(b.TempDir(), "p.db")))
	})
	b.Run("postgres", func(b *testing.B) {
		benchSession(b, openPostgres(b, pgtest.NewDatabase(b)))
	})
}

func benchSession(b *testing.B, s store.Store) {
	ctx := context.Background()
	const devices = 500
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.77.0.0/16"), First: netip.MustParseAddr("10.77.0.2")}
	for i := range devices {
		name := fmt.Sprint("u", i)
		if err := s.CreateUser(ctx, store.User{Name: name, DisplayName: name, TOTPSecret: "S", CreatedAt: t0}); err != nil {
			b.Fatalf("CreateUser: %v", err)
		}
		d := store.Device{ID: fmt.Sprint("d", i), User: name, PublicKey: fmt.Sprint("k", i), CredentialHash: fmt.Sprint("c", i), EnrollmentHash: fmt.Sprint("e", i), CreatedAt: t0}
		if _, err := s.RegisterDevice(ctx, d, pool); err != nil {
			b.Fatalf("RegisterDevice: %v", err)
		}
	}
	var seq atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			i := n % devices
			now := t0.Add(time.Duration(n) * time.Millisecond)
			if err := sessionCalls(ctx, s, i, n, now); err != nil {
				b.Errorf("session %d: %v", n, err)
				return
			}
		}
	})
}

// sessionCalls are the store calls of one session authorisation
// (portalsrv handleSessionAuthorise): the device and its user in one
// read, the lock check, the attempt counted before the check, then the
// code's step spent and the device admitted in one write.
func sessionCalls(ctx context.Context, s store.Store, i, n int64, now time.Time) error {
	d, u, err := s.DeviceByCredential(ctx, fmt.Sprint("c", i))
	if err != nil {
		return err
	}
	subj := "session:" + u.Name
	if _, err := s.LockedUntil(ctx, subj); err != nil {
		return err
	}
	if _, err := s.AddFailure(ctx, subj, now, now.Add(-5*time.Minute)); err != nil {
		return err
	}
	// n is unique, so every step is fresh: the accepted-code path.
	return s.AuthoriseSession(ctx, u.Name+"#k", n, now, subj, d.ID, now.Add(10*time.Hour))
}
