package health

import "time"

// Clock is time as the monitor sees it. Tests drive a manual one; the
// monitor holds at most one timer at a time, which is what keeps its idle
// cost near zero. Implementations must be safe for concurrent use.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once after d, and a
	// function that stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer starts a time.Timer.
func (SystemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
