package portal_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portalsrv"
	"github.com/dienstweg/dienstweg/internal/portalsrv/portaltest"
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
	for lang, want := range map[string]string{"de": "Netzwerk kamen zu viele falsche Aktivierungscodes", "en": "from your network"} {
		if msg := portal.Message(err, lang, env.Clock.Now()); !strings.Contains(msg, want) || !strings.Contains(msg, "15") {
			t.Errorf("Message(%s) = %q, want %q and 15 seconds", lang, msg, want)
		}
	}
}
