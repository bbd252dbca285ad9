package enroll

import (
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
)

// A per-source limit is not the employee's typing: the wizard says so and
// when to try again, rounded up to the minute.
func TestRateLimitedMessage(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 5, 50, 0, time.UTC)
	m := portalMessage(&portal.Error{Kind: portal.KindRateLimited, RetryAfter: 15 * time.Second, AttemptsLeft: -1}, now, time.UTC)
	if m.Key != "enroll.error.rate_limited_until" || m.Args["Time"] != "09:07" {
		t.Errorf("message = %+v, want rate_limited_until at 09:07", m)
	}
}
