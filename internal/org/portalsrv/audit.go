package portalsrv

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// Audit actions written by the portal server; the command line writes
// its own (admin.*). docs/operations.md lists them all.
const (
	AuditEnrollmentConfirm   = "enrollment.confirm"
	AuditReenrollmentConfirm = "enrollment.reconfirm" // the user had a secret before
	AuditDeviceRegister      = "device.register"
	AuditSessionAuthorise    = "session.authorise"
	AuditSessionEnd          = "session.end"
	AuditLockout             = "lockout"
	AuditDeviceRevoke        = "device.revoke"
)

// auditWriter appends audit events with group commit: events that arrive
// while a write is under way go into the next write together, so a
// morning herd of session authorisations costs one store write per batch,
// not one per event, on the single SQLite writer. Each caller still waits
// until its event is stored.
type auditWriter struct {
	st store.AuditLog

	mu      sync.Mutex
	pending []auditWait
	writing bool
}

type auditWait struct {
	ev   store.AuditEvent
	done chan error
}

// errLead hands the next write to a waiting caller.
var errLead = errors.New("lead the next audit write")

// append stores ev and returns once it is stored (or failed).
func (a *auditWriter) append(ctx context.Context, ev store.AuditEvent) error {
	w := auditWait{ev: ev, done: make(chan error, 1)}
	a.mu.Lock()
	a.pending = append(a.pending, w)
	if a.writing {
		a.mu.Unlock()
		if err := <-w.done; err != errLead {
			return err
		}
		a.mu.Lock()
	} else {
		a.writing = true
	}
	// This caller writes one batch (its own event is in it), then hands
	// the role on, so no request keeps writing for others under load.
	batch := a.pending
	a.pending = nil
	a.mu.Unlock()
	evs := make([]store.AuditEvent, len(batch))
	for i, b := range batch {
		evs[i] = b.ev
	}
	// The event happened: store it even if the request is cancelled.
	err := a.st.AppendAudit(context.WithoutCancel(ctx), evs...)
	a.mu.Lock()
	if len(a.pending) > 0 {
		a.pending[0].done <- errLead
	} else {
		a.writing = false
	}
	a.mu.Unlock()
	var own error
	for _, b := range batch {
		if b.done == w.done {
			own = err
			continue
		}
		b.done <- err
	}
	return own
}

// audit records what the portal did for a request. A failed write is
// logged and counted but does not fail the request: the action has
// happened, and refusing the answer would only make the client retry it.
func (s *Server) audit(ctx context.Context, r *http.Request, actor, action, subject string, details map[string]string) {
	if details == nil {
		details = map[string]string{}
	}
	if r != nil {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			details["source"] = host
		}
	}
	ev := store.AuditEvent{At: s.cfg.Now(), Actor: actor, Action: action, Subject: subject, Details: details}
	if err := s.auditLog.append(ctx, ev); err != nil {
		s.metrics.auditFailures.Add(1)
		s.log.Error("writing the audit log", "action", action, "subject", subject, "err", err)
	}
}
