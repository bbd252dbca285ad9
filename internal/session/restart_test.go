package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Close keeps the day's authorisation, so the agent that follows (after
// an update) resumes without a code; once the authorisation is gone,
// Resume changes nothing and says so.
func TestResumeNeedsNoCodeWhileAuthorised(t *testing.T) {
	t.Parallel()
	r := newRig(t, portaltest.Options{}, nil)
	ctx := context.Background()
	if err := r.ctl.Resume(ctx); !errors.Is(err, session.ErrNotAuthorised) {
		t.Fatalf("Resume before any start = %v, want ErrNotAuthorised", err)
	}
	if st := r.ctl.Status(); st.Phase != state.NotConnected || st.Running {
		t.Fatalf("after a Resume without authorisation: %+v", st)
	}
	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := r.ctl.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.ctl.Resume(ctx); err != nil {
		t.Fatalf("Resume after Close: %v", err)
	}
	if st := r.ctl.Status(); st.Phase != state.Connected || !st.Running {
		t.Fatalf("after Resume: %+v", st)
	}
	r.office.WaitAdmitted(t, r.dev, true)
	if err := r.ctl.End(ctx); err != nil {
		t.Fatalf("End: %v", err)
	}
	if err := r.ctl.Resume(ctx); !errors.Is(err, session.ErrNotAuthorised) {
		t.Errorf("Resume after End = %v, want ErrNotAuthorised", err)
	}
	if st := r.ctl.Status(); st.Phase != state.NotConnected || st.Running {
		t.Errorf("after a Resume past End: %+v", st)
	}
}
