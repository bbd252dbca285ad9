package localapi

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/state"
)

// An agent that stops and comes back: the follower reads the stream it was
// given, says when it is lost, waits with backoff while nothing listens,
// and claims the window again from the new agent and reads its state.
func TestFollowerReconnectsAfterAgentRestart(t *testing.T) {
	t.Parallel()
	srv, b, c := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	first, err := c.Watch(ctx, WindowStatus)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	orgs := make(chan string, 16)
	lost := make(chan struct{}, 4)
	var opens atomic.Int32
	f := Follower[Event]{
		Open: func(ctx context.Context) (<-chan Event, error) {
			opens.Add(1)
			return c.Watch(ctx, WindowStatus)
		},
		Handle: func(ev Event) bool {
			if ev.Type == EventState {
				orgs <- ev.State.Organisation
			}
			return true
		},
		Lost:  func() { lost <- struct{}{} },
		Retry: backoff.Policy{Base: 10 * time.Millisecond, Max: 80 * time.Millisecond, Jitter: 0.5},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Follow(ctx, first)
	}()
	if got := recv(t, orgs, "first state"); got != "Stadt Musterstadt" {
		t.Fatalf("first state from %q", got)
	}
	if n := opens.Load(); n != 0 {
		t.Errorf("opened %d streams besides the one given", n)
	}

	b.closeAll() // as the agent does when it quits
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	recv(t, lost, "lost stream")
	// Nothing listens for a while: the follower retries, but with backoff
	// (10, 20, 40, 80, 80 … ms), not in a busy loop.
	before := opens.Load()
	time.Sleep(500 * time.Millisecond)
	if n := opens.Load() - before; n < 2 || n > 15 {
		t.Errorf("%d attempts to reopen in 500 ms, want a few with backoff", n)
	}

	b2 := &testBackend{Store: state.NewStore(state.Snapshot{Organisation: "Stadt Neustadt"}, nil)}
	srv2 := NewServer(everything(b2), Config{})
	if err := srv2.Listen(c.SocketPath()); err != nil {
		t.Fatalf("Listen again: %v", err)
	}
	t.Cleanup(func() { srv2.Close() })
	if got := recv(t, orgs, "state after the restart"); got != "Stadt Neustadt" {
		t.Fatalf("state after the restart from %q", got)
	}
	if open := b2.open(); len(open) != 1 || open[0] != WindowStatus {
		t.Errorf("windows held at the new agent: %v, want the status window", open)
	}
	b2.Update(func(s *state.Snapshot) { s.Organisation = "Stadt Neustadt (neu)" })
	if got := recv(t, orgs, "change after the restart"); got != "Stadt Neustadt (neu)" {
		t.Fatalf("change after the restart: %q", got)
	}

	cancel()
	recv(t, done, "Follow to return after cancel")
}

// Run waits for an agent that is not there yet; Handle returning false
// ends Run, and the stream with it, which frees the window's claim.
func TestFollowerRunWaitsAndStops(t *testing.T) {
	t.Parallel()
	srv, _, c := startServer(t, Config{})
	path := c.SocketPath()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	f := Follower[Event]{
		Open:   func(ctx context.Context) (<-chan Event, error) { return c.Watch(ctx, WindowStatus) },
		Handle: func(Event) bool { return false },
		Retry:  backoff.Policy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(context.Background())
	}()
	time.Sleep(100 * time.Millisecond)
	b := &testBackend{Store: state.NewStore(state.Snapshot{}, nil)}
	srv = NewServer(everything(b), Config{})
	if err := srv.Listen(path); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	recv(t, done, "Run to return")
	deadline := time.Now().Add(10 * time.Second)
	for len(b.open()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("window still held: %v", b.open())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		tb.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}
