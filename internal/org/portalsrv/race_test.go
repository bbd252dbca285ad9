package portalsrv

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// barrier lets n callers through together.
type barrier struct {
	mu    sync.Mutex
	n     int
	count int
	open  chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, open: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	b.count++
	if b.count == b.n {
		close(b.open)
	}
	b.mu.Unlock()
	<-b.open
}

// gatedStore holds every caller of LockedUntil and of AddFailure until all
// parallel requests got there: the worst interleaving for the lock.
type gatedStore struct {
	store.Store
	locked, added *barrier
}

func (g *gatedStore) LockedUntil(ctx context.Context, subject string) (time.Time, error) {
	t, err := g.Store.LockedUntil(ctx, subject)
	g.locked.wait()
	return t, err
}

func (g *gatedStore) AddFailure(ctx context.Context, subject string, at, since time.Time) (int, error) {
	n, err := g.Store.AddFailure(ctx, subject, at, since)
	g.added.wait()
	return n, err
}

func newTestServer(tb testing.TB, st store.Store, now time.Time) *Server {
	tb.Helper()
	s, err := New(Config{
		Now: func() time.Time { return now },
		Tunnel: TunnelConfig{
			Pool:             netip.MustParsePrefix("10.77.0.0/16"),
			GatewayEndpoint:  "127.0.0.1:51820",
			GatewayPublicKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=",
		},
	}, st)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// Parallel attempts must not overtake the lock: however they interleave,
// at most LockAfter codes are checked in one window. Before, every
// attempt that passed the lock check before the first failure was
// counted got checked.
func TestParallelCodesCannotOvertakeTheLock(t *testing.T) {
	t.Parallel()
	const parallel = 20
	ctx := context.Background()
	sq, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	defer sq.Close()
	now := time.Unix(1_700_000_010, 0)
	s := newTestServer(t, &gatedStore{Store: sq, locked: newBarrier(parallel), added: newBarrier(parallel)}, now)
	// Every request carries the right code: each one checked answers 200
	// or code_reused, each one refused unchecked answers locked.
	good, err := totp.GenerateCodeCustom(rfcSecret, now, totpOpts)
	if err != nil {
		t.Fatalf("GenerateCodeCustom: %v", err)
	}
	errs := make(chan error, parallel)
	for i := 0; i < parallel; i++ {
		go func() { errs <- s.checkTOTP(ctx, factorSession, "anna", rfcSecret, good, now, nil) }()
	}
	checked, ok := 0, 0
	for i := 0; i < parallel; i++ {
		err := <-errs
		var ae *apiError
		switch {
		case err == nil:
			ok++
			checked++
		case errors.As(err, &ae) && ae.body.Code == api.CodeCodeReused:
			checked++
		case errors.As(err, &ae) && ae.status == http.StatusTooManyRequests && ae.body.Code == api.CodeLocked:
		default:
			t.Fatalf("attempt: %v", err)
		}
	}
	if ok != 1 || checked > s.cfg.LockAfter {
		t.Errorf("%d of %d parallel attempts were checked (%d accepted), want at most %d checked and 1 accepted", checked, parallel, ok, s.cfg.LockAfter)
	}
}
