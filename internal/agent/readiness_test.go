package agent

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// "Start home office" before setup (issue 15, #3): the old agent asked
// the real session controller, which failed to read keys that were never
// made, told the person to sign out and in again and turned the tray to
// "Problem". Now the API refuses with a typed "not set up", the session
// is never asked, and the verdict sends Start to the wizard.
func TestStartBeforeSetupIsRefused(t *testing.T) {
	_, prof := testProfile(t)
	socket := socketPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: t.TempDir()},
		Deps:         Deps{Keyring: keyring.NewMem()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitStatus(t, ctx, c, "the wizard's progress is known", func(s state.Snapshot) bool { return s.Enrollment.Step != "" })

	err = c.StartSession(ctx, "123456")
	var e *localapi.Error
	if !errors.As(err, &e) || e.Status != http.StatusPreconditionFailed || e.Code != situation.NotSetUp || e.Key != situation.KeyStartNotSetUp {
		t.Fatalf("StartSession before setup = %v, want 412 %s", err, situation.NotSetUp)
	}
	s, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if s.Session != state.NotConnected || s.Detail != nil {
		t.Errorf("session = %v, detail %v; the session must not have been asked", s.Session, s.Detail)
	}
	if v := s.Verdict; v.Situation != situation.NotSetUp || v.Start != state.StartWizard {
		t.Errorf("verdict = %s, start %q; want not_set_up, wizard", v.Situation, v.Start)
	}
}
