// Package backoff is the one retry policy of the client: exponential waits
// from a base to a cap with jitter, a server's Retry-After as the least
// wait, and jittered intervals for periodic work. Jitter matters because a
// city's laptops wake at 8:00 together; without it they would come back to
// the portal and the gateway in step, again and again.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy is exponential backoff with jitter: before retry n (1-based) the
// step is Base·2^(n−1), at most Max, and the wait is drawn uniformly from
// [step·(1−Jitter), step]. The step is therefore also the longest wait, so
// Max is a true cap. The zero Policy waits nothing.
type Policy struct {
	// Base is the first step; Max the cap, where zero means Base.
	Base, Max time.Duration
	// Jitter is the share of each step that is random, from 0 to 1: 0.5
	// ("equal jitter") waits between half and all of the step and never
	// collapses to zero; 1 ("full jitter") spreads best.
	Jitter float64
	// Rand returns a number in [0,1); nil means math/rand/v2. It must be
	// safe for concurrent use if the policy is used concurrently.
	Rand func() float64
}

// Step is the wait before retry attempt without jitter.
func (p Policy) Step(attempt int) time.Duration {
	hi := p.Max
	if hi <= 0 {
		hi = p.Base
	}
	d := p.Base
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// Wait is the wait before retry attempt (1-based; less counts as 1). A
// positive retryAfter — the server's Retry-After — is the least wait: the
// server knows when it can serve again. Past it the same random share is
// added, so the devices it turned away together do not return together.
func (p Policy) Wait(attempt int, retryAfter time.Duration) time.Duration {
	step := p.Step(attempt)
	spread := time.Duration(p.Jitter * p.rand() * float64(step))
	wait := step - spread
	if retryAfter > wait {
		wait = retryAfter + spread
		if wait < retryAfter { // overflow: a Retry-After near forever
			wait = retryAfter
		}
	}
	return wait
}

func (p Policy) rand() float64 {
	if p.Rand == nil {
		return rand.Float64()
	}
	return p.Rand()
}

// Jitter is d shortened by a random share of at most frac (0 to 1): a wait
// drawn uniformly from [d·(1−frac), d], for a first check that should come
// at most d after start. rand nil means math/rand/v2.
func Jitter(d time.Duration, frac float64, rand func() float64) time.Duration {
	return Policy{Base: d, Jitter: frac, Rand: rand}.Wait(1, 0)
}

// Spread is d·(1±frac), drawn uniformly: for periodic work, whose interval
// must stay d on average. rand nil means math/rand/v2.
func Spread(d time.Duration, frac float64, rand func() float64) time.Duration {
	p := Policy{Rand: rand}
	return time.Duration(float64(d) * (1 + frac*(2*p.rand()-1)))
}

// Sleep waits d or until ctx ends, and then returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
