package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/redact"
)

// What the person types is a secret from the moment it reaches the agent:
// the diagnostics bundle no longer removes values of fields named "code",
// so the agent registers each typed code and activation code itself.
func TestTypedSecretsAreRegistered(t *testing.T) {
	a, _ := newTestAgent(t)
	// The agent does not run, so the wizard never gets ready: the calls
	// give up at once, after the agent has seen what was typed.
	stale, cancel := context.WithCancel(context.Background())
	cancel()
	_ = a.StartSession(stale, " 381 946")
	_, _ = a.Enroll(stale, localapi.EnrollAction{Action: localapi.EnrollSignIn, User: "anna.schmidt", ActivationCode: "Q3ZT-9KXW-M2PD"})
	_, _ = a.Enroll(stale, localapi.EnrollAction{Action: localapi.EnrollCode, Code: "750213"})
	log := `msg="code typed" input=381946 again=" 381 946" activation=Q3ZT-9KXW-M2PD confirm=750213 user=anna.schmidt`
	got := redact.String(log)
	for _, secret := range []string{"381946", "381 946", "Q3ZT-9KXW-M2PD", "750213"} {
		if strings.Contains(got, secret) {
			t.Errorf("typed secret %q survived redaction: %s", secret, got)
		}
	}
	if !strings.Contains(got, "user=anna.schmidt") {
		t.Errorf("redaction removed the user name: %s", got)
	}
}
