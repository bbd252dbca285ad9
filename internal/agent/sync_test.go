package agent

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/demo"
	"github.com/dienstweg/dienstweg/internal/profile"
)

// syncWriter serialises writes from a child's stdout and stderr.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// runAgent runs a until the test ends and fails the test if Run does.
func runAgent(tb testing.TB, ctx context.Context, a *Agent) {
	tb.Helper()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	tb.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
}

// startDemoOrg runs the demo organisation for the test and returns it
// with the profile that points at it, demo sign-in included, as
// `dienstweg-portal demo` writes it.
func startDemoOrg(tb testing.TB, ctx context.Context) (*demo.Org, *profile.Profile) {
	tb.Helper()
	org, err := demo.Start(ctx, tb.TempDir())
	if err != nil {
		tb.Fatalf("demo.Start: %v", err)
	}
	tb.Cleanup(func() { org.Close() })
	prof, err := org.Profile()
	if err != nil {
		tb.Fatalf("Profile: %v", err)
	}
	return org, prof
}
