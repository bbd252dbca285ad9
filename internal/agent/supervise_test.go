package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/state"
)

// A component that fails is restarted and each failure is reported; one
// that panics too. The supervisor stops with ctx.
func TestSupervisorRestartsAndReports(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reports []state.Message
	var waits []time.Duration
	s := newSupervisor(slog.New(slog.NewTextHandler(io.Discard, nil)), func(m state.Message) {
		mu.Lock()
		reports = append(reports, m)
		mu.Unlock()
	})
	s.policy.Rand = func() float64 { return 0 }
	s.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := 0
	third := make(chan struct{})
	s.start(ctx, component{name: "announcements", run: func(ctx context.Context) error {
		runs++ // one goroutine: runs are sequential
		switch runs {
		case 1:
			return errors.New("feed broke")
		case 2:
			panic("bug")
		}
		close(third)
		<-ctx.Done()
		return ctx.Err()
	}})
	<-third
	cancel()
	s.wait()
	if runs != 3 {
		t.Errorf("ran %d times, want 3", runs)
	}
	if len(reports) != 2 {
		t.Fatalf("reports = %+v, want 2", reports)
	}
	for _, r := range reports {
		if r.Key != "error.component_restarted" || r.Args["Component"] != "announcements" {
			t.Errorf("report = %+v", r)
		}
	}
	if len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second {
		t.Errorf("waits = %v, want the backoff 1s, 2s", waits)
	}
}
