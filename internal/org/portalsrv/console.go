package portalsrv

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// AuditLockoutEnd: the helpdesk ended a user's lockout.
const AuditLockoutEnd = "lockout.end"

// Mount serves h under prefix (ending in "/", e.g. "/console/") beside
// the API, with the same in-flight bound but not the API's JSON-only
// body checks: h bounds its own bodies. Call it before Serve.
func (s *Server) Mount(prefix string, h http.Handler) {
	if !strings.HasSuffix(prefix, "/") {
		panic("portalsrv: Mount prefix must end in /")
	}
	s.outer.Handle(prefix, s.withLimit(s.inflight, h))
}

// EndLockout forgets user's failed codes and ends their locks, of every
// factor, and records actor as having done so.
func (s *Server) EndLockout(ctx context.Context, user, actor string) error {
	for _, f := range []factor{factorActivation, factorConfirm, factorSession} {
		subj := f.subject(user)
		if err := s.st.ResetFailures(ctx, subj); err != nil {
			return fmt.Errorf("ending the lockout of %s: %w", user, err)
		}
		if err := s.st.SetLock(ctx, subj, s.cfg.Now().Add(-1)); err != nil {
			return fmt.Errorf("ending the lockout of %s: %w", user, err)
		}
	}
	s.audit(ctx, nil, actor, AuditLockoutEnd, user, nil)
	return nil
}

// Locked says whether any of user's factors is locked now, and until when
// the longest lock lasts.
func (s *Server) Locked(ctx context.Context, user string) (bool, error) {
	now := s.cfg.Now()
	for _, f := range []factor{factorActivation, factorConfirm, factorSession} {
		until, err := s.st.LockedUntil(ctx, f.subject(user))
		if err != nil {
			return false, fmt.Errorf("reading the lock of %s: %w", user, err)
		}
		if until.After(now) {
			return true, nil
		}
	}
	return false, nil
}
