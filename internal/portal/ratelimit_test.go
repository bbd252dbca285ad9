package portal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
)

func TestRateLimitedActivationCodes(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{SourceBurst: 1}})
	ctx := context.Background()
	c := env.Client(t, nil)
	if _, err := c.StartEnrollment(ctx, "a", "WRONG-CODE-0000"); !errors.Is(err, portal.ErrInvalidLogin) {
		t.Fatalf("first wrong code: %v", err)
	}
	_, err := c.StartEnrollment(ctx, "b", "WRONG-CODE-0000")
	var pe *portal.Error
	if !errors.As(err, &pe) || pe.Kind != portal.KindRateLimited || pe.RetryAfter != 15*time.Second {
		t.Fatalf("second wrong code from the same address: %v, want rate_limited after 15s", err)
	}
	if m := portal.Explain(err, env.Clock.Now(), time.UTC); m.Key != portal.KeyRateLimitedUntil || m.Args["Time"] == "" {
		t.Errorf("Explain = %+v, want %s with a time", m, portal.KeyRateLimitedUntil)
	}
}
