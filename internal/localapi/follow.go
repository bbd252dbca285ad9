package localapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/dienstweg/dienstweg/internal/backoff"
)

// Follower keeps one of the agent's streams open (Client.Watch,
// Client.WatchEnroll): it hands every value to Handle and, when the stream
// breaks because the agent restarted, calls Lost and opens it again with
// backoff, until its context ends. It is the one reconnect loop of the
// tray and the windows.
type Follower[T any] struct {
	// Open opens the stream once, e.g. a Client's WatchEnroll. Required.
	Open func(ctx context.Context) (<-chan T, error)
	// Handle gets the values in order; false stops following. Required.
	Handle func(T) bool
	// Lost, if set, is called each time an open stream breaks while the
	// context lasts, before reconnecting.
	Lost func()
	// Retry paces the reconnects; a zero Base means DefaultRetry.
	Retry backoff.Policy
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultRetry finds a restarted agent within a few quick tries, and waits
// for one that is gone for long at little cost.
var DefaultRetry = backoff.Policy{Base: 200 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.5}

// Run opens the stream and follows it until ctx ends or Handle returns
// false. An agent that is not there yet is waited for like a restarting
// one.
func (f Follower[T]) Run(ctx context.Context) {
	// Ending the context also ends a stream that Handle stopped reading.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := f.Open(ctx)
	if err != nil {
		ch = nil
		f.logger().Info("agent stream not available; retrying", "err", err)
	}
	f.Follow(ctx, ch)
}

// Follow is Run for a stream the caller has opened already: a window opens
// its own, to learn whether the agent granted its claim before it builds
// anything. first may be nil: then Follow begins with a retry. first ends
// with the context it was opened with, should Handle stop early.
func (f Follower[T]) Follow(ctx context.Context, first <-chan T) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := first
	retry := f.Retry
	if retry.Base <= 0 {
		retry = DefaultRetry
	}
	failures := 0
	for {
		if ch != nil {
			for v := range ch {
				failures = 0 // the agent answers: after a break, retry quickly
				if !f.Handle(v) {
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			if f.Lost != nil {
				f.Lost()
			}
		}
		// Waiting after a break too keeps a stream that ends at once (an
		// agent shutting down) from becoming a busy loop.
		failures++
		if backoff.Sleep(ctx, retry.Wait(failures, 0)) != nil {
			return
		}
		var err error
		if ch, err = f.Open(ctx); err != nil {
			ch = nil
			f.logger().Debug("agent stream not available; retrying", "err", err, "failures", failures)
		}
	}
}

func (f Follower[T]) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.Default()
	}
	return f.Logger
}
