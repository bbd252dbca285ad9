package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func fixed(r float64) func() float64 { return func() float64 { return r } }

func TestWait(t *testing.T) {
	t.Parallel()
	const s = time.Second
	for _, tc := range []struct {
		name       string
		p          Policy
		attempt    int
		retryAfter time.Duration
		rand       float64
		want       time.Duration
	}{
		{"first_is_base", Policy{Base: s, Max: time.Minute}, 1, 0, 0, s},
		{"doubles", Policy{Base: s, Max: time.Minute}, 4, 0, 0, 8 * s},
		{"zero_attempt_counts_as_first", Policy{Base: s, Max: time.Minute}, 0, 0, 0, s},
		{"capped", Policy{Base: s, Max: time.Minute}, 30, 0, 0, time.Minute},
		{"cap_below_base", Policy{Base: 2 * s, Max: s}, 1, 0, 0, s},
		{"zero_max_means_base", Policy{Base: s}, 11, 0, 0, s},
		{"equal_jitter_low_end", Policy{Base: 4 * s, Max: time.Minute, Jitter: 0.5}, 1, 0, 0.999, 2*s + 2*time.Millisecond},
		{"equal_jitter_middle", Policy{Base: 4 * s, Max: time.Minute, Jitter: 0.5}, 2, 0, 0.5, 6 * s},
		{"full_jitter_never_above_step", Policy{Base: s, Max: s, Jitter: 1}, 9, 0, 0, s},
		{"full_jitter_down_to_nearly_zero", Policy{Base: s, Max: s, Jitter: 1}, 9, 0, 0.999, time.Millisecond},
		{"capped_with_jitter", Policy{Base: s, Max: 16 * s, Jitter: 0.5}, 30, 0, 0.5, 12 * s},
		{"retry_after_is_the_floor", Policy{Base: 500 * time.Millisecond, Max: 30 * s, Jitter: 1}, 1, 4 * s, 0, 4 * s},
		{"retry_after_plus_spread", Policy{Base: 500 * time.Millisecond, Max: 30 * s, Jitter: 1}, 2, 4 * s, 0.5, 4*s + 500*time.Millisecond},
		{"short_retry_after_changes_nothing", Policy{Base: 8 * s, Max: 30 * s, Jitter: 0.5}, 1, s, 0.5, 6 * s},
		{"zero_policy_waits_nothing", Policy{}, 5, 0, 0.5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.p.Rand = fixed(tc.rand)
			if got := tc.p.Wait(tc.attempt, tc.retryAfter); got != tc.want {
				t.Errorf("Wait(%d, %v) = %v, want %v", tc.attempt, tc.retryAfter, got, tc.want)
			}
		})
	}
}

// With the real random source every wait stays within its bounds, and the
// waits differ: jitter that always drew the same number would not spread.
func TestWaitBoundsWithRealRand(t *testing.T) {
	t.Parallel()
	p := Policy{Base: time.Second, Max: 10 * time.Second, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for attempt := 1; attempt <= 8; attempt++ {
		step := p.Step(attempt)
		for range 50 {
			w := p.Wait(attempt, 0)
			if w < step/2 || w > step {
				t.Fatalf("attempt %d: wait %v outside [%v, %v]", attempt, w, step/2, step)
			}
			seen[w] = true
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d different waits in 400 draws", len(seen))
	}
}

func TestJitterAndSpread(t *testing.T) {
	t.Parallel()
	const h = time.Hour
	for _, tc := range []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"jitter_high_end", Jitter(4*h, 0.5, fixed(0)), 4 * h},
		{"jitter_low_end", Jitter(4*h, 0.5, fixed(1)), 2 * h},
		{"jitter_full", Jitter(4*h, 1, fixed(0.25)), 3 * h},
		{"spread_middle_is_d", Spread(4*h, 0.25, fixed(0.5)), 4 * h},
		{"spread_low_end", Spread(4*h, 0.25, fixed(0)), 3 * h},
		{"spread_high_end", Spread(4*h, 0.25, fixed(1)), 5 * h},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on a cancelled context = %v, want Canceled", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("Sleep on a cancelled context took %v", time.Since(start))
	}
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(0) on a cancelled context = %v, want Canceled", err)
	}
}
