package localapi

import (
	"context"
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
	lost := make(chan time.Time, 4)
	// When each reopening began; later ones than the channel holds are
	// not needed.
	opens := make(chan time.Time, 64)
	retry := backoff.Policy{Base: 10 * time.Millisecond, Max: 80 * time.Millisecond, Jitter: 0.5}
	f := Follower[Event]{
		Open: func(ctx context.Context) (<-chan Event, error) {
			select {
			case opens <- time.Now():
			default:
			}
			return c.Watch(ctx, WindowStatus)
		},
		Handle: func(ev Event) bool {
			if ev.Type == EventState {
				orgs <- ev.State.Organisation
			}
			return true
		},
		Lost:  func() { lost <- time.Now() },
		Retry: retry,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Follow(ctx, first)
	}()
	if got := recv(t, orgs, "first state"); got != "Stadt Musterstadt" {
		t.Fatalf("first state from %q", got)
	}
	if n := len(opens); n != 0 {
		t.Errorf("opened %d streams besides the one given", n)
	}

	b.closeAll() // as the agent does when it quits
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Nothing listens: the follower keeps trying, but with backoff, not in
	// a busy loop: before try n it waits at least the policy's least wait
	// (5, 10, 20, 40, 40 … ms). Timers never fire early, so this holds on
	// any machine; a count of tries in a window of real time did not.
	prev := recv(t, lost, "lost stream")
	for n := 1; n <= 5; n++ {
		at := recv(t, opens, "another try to reopen")
		least := time.Duration(float64(retry.Step(n)) * (1 - retry.Jitter))
		if gap := at.Sub(prev); gap < least {
			t.Errorf("try %d came %v after the one before; want at least %v (backoff)", n, gap, least)
		}
		prev = at
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
