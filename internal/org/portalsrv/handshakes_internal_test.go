package portalsrv

import (
	"testing"
	"time"
)

// Each gateway has its own bucket: a burst, then one report per
// handshakeReportEvery.
func TestHandshakeLimiterPerGateway(t *testing.T) {
	t.Parallel()
	var l handshakeLimiter
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	for i := range handshakeReportBurst {
		if wait := l.take("A", t0); wait != 0 {
			t.Fatalf("report %d of the burst waits %v", i+1, wait)
		}
	}
	if wait := l.take("A", t0); wait <= 0 || wait > handshakeReportEvery {
		t.Errorf("beyond the burst: wait %v, want up to %v", wait, handshakeReportEvery)
	}
	if wait := l.take("B", t0); wait != 0 {
		t.Errorf("another gateway waits %v for A's burst", wait)
	}
	if wait := l.take("A", t0.Add(handshakeReportEvery)); wait != 0 {
		t.Errorf("after one interval: wait %v, want a token", wait)
	}
}
