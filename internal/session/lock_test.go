package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The portal's lock after wrong codes is published with its end, so that
// "Start home office" can wait for it, and lifted by itself when it ends
// (issue 15, #8: the old status said "click Start" all along).
func TestLockIsPublishedAndLiftedAtItsEnd(t *testing.T) {
	t.Parallel()
	lockFor := 1500 * time.Millisecond
	r := newRig(t, portaltest.Options{Config: portalsrv.Config{LockAfter: 1, LockFor: lockFor}}, nil)
	now := r.office.Portal.Clock.Now()
	wrong := authcodetest.Code(t, r.dev.Secret, now.Add(time.Hour))
	if err := r.ctl.Start(context.Background(), wrong); err == nil {
		t.Fatal("Start with a wrong code succeeded")
	}
	st := r.ctl.Status()
	if st.Phase != state.NotConnected || st.Detail == nil || st.Detail.Key != portal.KeyLockedUntil {
		t.Fatalf("after the lock: %v %+v, want not connected with %s", st.Phase, st.Detail, portal.KeyLockedUntil)
	}
	if st.LockedUntil.IsZero() || st.LockedUntil.Before(now) || st.LockedUntil.After(now.Add(lockFor+time.Second)) {
		t.Fatalf("LockedUntil = %v, want about %v", st.LockedUntil, now.Add(lockFor))
	}
	waitStatus(t, r.ctl, func(s session.Status) bool { return s.LockedUntil.IsZero() })
	if st := r.ctl.Status(); st.Phase != state.NotConnected || st.Detail != nil {
		t.Errorf("after the lock ended: %v %+v, want not connected without the lock's text", st.Phase, st.Detail)
	}
}
