package session

import (
	"context"
	"errors"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Message keys of the end of the day.
const (
	// KeyNotExtended: the portal allows no more time today; the session
	// runs on until its end ({{.Until}}).
	KeyNotExtended = "session.not_extended"
)

// Extend lengthens the running session's authorisation with a new code
// from the authenticator app. Only the authorisation changes: the tunnel,
// its handshake and its open connections stay as they are. The portal
// decides by how much (its working-hours rules). Without a running
// session it starts one, as Start does.
//
// A refused code leaves the session running as it was; the error says
// why (a wrong code, or no more time today) for the code prompt.
func (c *Controller) Extend(ctx context.Context, code string) error {
	c.op.Lock()
	defer c.op.Unlock()
	if !c.isRunning() {
		return c.start(ctx, code)
	}
	return c.extend(ctx, code)
}

func (c *Controller) isRunning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running
}

// extend is Extend with c.op held and a session running.
func (c *Controller) extend(ctx context.Context, code string) error {
	cred, err := c.opts.Keys.Credential()
	if err != nil {
		return c.extendFailure(problem.New(problem.Unavailable, KeyKeyring, err))
	}
	c.opts.Portal.SetCredential(cred)
	sess, err := c.opts.Portal.ExtendSession(ctx, code)
	if err != nil {
		return c.extendFailure(c.extendProblem(err))
	}
	if !sess.Authorised || sess.Until == nil {
		return c.extendFailure(problem.New(problem.Conflict, KeyExpired, errors.New("portal did not extend the session")))
	}
	until := *sess.Until
	c.mu.Lock()
	c.until, c.endsSoon = until, false
	c.mu.Unlock()
	c.clearLock()
	c.feed.Emit(Event{Kind: Extended, At: c.opts.Now(), Until: until})
	c.log.Info("session extended", "until", until)
	c.republish()
	// The supervisor looks at the new end at once: it may still be
	// within the warning.
	c.Signal(0)
	return nil
}

// extendProblem is a refused extension in the employee's words. No more
// time today names the end that still holds.
func (c *Controller) extendProblem(err error) *problem.Error {
	now := c.opts.Now()
	m := *portal.Explain(err, now, time.Local)
	switch portal.KindOf(err) {
	case portal.KindOutsideHours:
		c.mu.Lock()
		until := c.until
		c.mu.Unlock()
		m = state.Message{Key: KeyNotExtended, Args: map[string]string{"Until": until.In(time.Local).Format("15:04")}}
		return problem.Wrap(problem.Forbidden, m, err)
	case portal.KindWrongCode:
		return problem.Wrap(problem.Denied, m, err)
	case portal.KindCodeReused:
		return problem.Wrap(problem.Conflict, m, err)
	case portal.KindLocked:
		c.mu.Lock()
		c.setLockLocked(portal.LockedUntil(err, now), now)
		c.mu.Unlock()
		return problem.Wrap(problem.Limited, m, err)
	case portal.KindDeviceUnauthorised:
		return problem.Wrap(problem.Forbidden, m, err)
	}
	return problem.Wrap(problem.Unavailable, m, err)
}

// extendFailure logs a refused extension and returns it; the running
// session and what it shows stay as they are, the lock aside.
func (c *Controller) extendFailure(e *problem.Error) error {
	c.log.Warn("session not extended", "reason", e.Msg.Key, "err", e.Err)
	c.republish()
	return e
}

// republish shows the current phase again with the controller's fields
// (a new end, the warning, a lock), keeping its detail; "Verbunden bis"
// names the new end.
func (c *Controller) republish() {
	cur := c.feed.Status()
	if cur.Phase == state.Connected && !cur.Reconnecting {
		c.connected()
		return
	}
	c.set(cur.Phase, cur.Detail, cur.Reconnecting)
}

// warnIfEndingSoon tells once per end that the authorisation ends within
// WarnBefore, takes the warning back when the end moved away (the portal
// knew of a later one), and shows an end the supervisor learnt from the
// portal. The supervisor calls it on each look at the end.
func (c *Controller) warnIfEndingSoon(until time.Time) {
	soon := !until.IsZero() && c.opts.WarnBefore >= 0 && !c.opts.Now().Before(until.Add(-c.opts.WarnBefore))
	c.mu.Lock()
	if !c.until.Equal(until) {
		c.mu.Unlock()
		return // an extension came between; the next look decides
	}
	changed := c.endsSoon != soon
	c.endsSoon = soon
	c.mu.Unlock()
	if !changed && c.feed.Status().Until.Equal(until) {
		return // nothing new to show
	}
	if changed && soon {
		c.feed.Emit(Event{Kind: EndsSoon, At: c.opts.Now(), Until: until})
		c.log.Info("session authorisation ends soon", "until", until)
	}
	c.republish()
}
