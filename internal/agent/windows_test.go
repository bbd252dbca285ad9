package agent

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/localapi"
)

// The agent owns the windows' claims; through the real socket a window
// is held once: a second claim is refused with 409 and raises the holder,
// "open" raises it instead of starting a process, a claim ends with its
// stream, and quitting the agent tells the holder to close.
func TestWindowIsHeldOnce(t *testing.T) {
	a, _ := newTestAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	c := localapi.NewClient(a.opts.SocketPath)
	waitAPI(t, ctx, c)

	// next is the next event that is not a state: the agent's state
	// changes on its own meanwhile (health checks).
	next := func(events <-chan localapi.Event, what string) string {
		t.Helper()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("%s: stream ended", what)
				}
				if ev.Type != localapi.EventState {
					return ev.Type
				}
			case <-ctx.Done():
				t.Fatalf("%s: nothing arrived", what)
			}
		}
	}

	holderCtx, leave := context.WithCancel(ctx)
	holder, err := c.Watch(holderCtx, localapi.WindowStatus)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if ev := <-holder; ev.Type != localapi.EventState {
		t.Fatalf("first event %+v, want state", ev)
	}
	_, err = c.Watch(ctx, localapi.WindowStatus)
	var apiErr *localapi.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "window_open" || apiErr.Status != http.StatusConflict {
		t.Fatalf("second claim = %v, want window_open 409", err)
	}
	if got := next(holder, "raise after the second claim"); got != localapi.EventRaise {
		t.Errorf("holder got %q, want raise", got)
	}
	if err := c.OpenWindow(ctx, localapi.WindowStatus); err != nil {
		t.Fatalf("OpenWindow: %v", err)
	}
	if got := next(holder, "raise after open"); got != localapi.EventRaise {
		t.Errorf("holder got %q, want raise", got)
	}

	// The holder goes: its claim ends with the stream.
	leave()
	var again <-chan localapi.Event
	for again == nil {
		again, err = c.Watch(ctx, localapi.WindowStatus)
		if err != nil && !errors.As(err, &apiErr) {
			t.Fatalf("claim after the holder left: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("window stayed claimed after its holder left: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // the server notices the closed stream on its own
	}
	<-again // its first state

	stop()
	if got := next(again, "close at quit"); got != localapi.EventClose {
		t.Errorf("holder got %q at quit, want close", got)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
