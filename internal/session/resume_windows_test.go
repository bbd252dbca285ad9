//go:build windows

package session

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// The registration with powrprof works and ends with ctx, and a
// PBT_APMRESUMEAUTOMATIC broadcast (here handed to the callback as
// Windows would) reaches the supervisor as Resumed.
func TestWatchPowerResume(t *testing.T) {
	c := &Controller{log: slog.New(slog.NewTextHandler(io.Discard, nil)), wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.WatchPowerResume(ctx); err != nil {
		t.Fatalf("WatchPowerResume: %v", err)
	}
	onPower(0, pbtAPMSuspend, 0)
	if s := c.takeSignals(); s != 0 {
		t.Fatalf("signals %b after a suspend broadcast, want none", s)
	}
	onPower(0, pbtAPMResumeAutomatic, 0)
	if s := c.takeSignals(); s != Resumed {
		t.Fatalf("signals %b after PBT_APMRESUMEAUTOMATIC, want Resumed", s)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		powerMu.Lock()
		n := len(powerWatchers)
		powerMu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still registered after ctx ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
