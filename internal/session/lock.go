package session

import (
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/state"
)

// failLocked publishes the portal's lock after too many wrong codes with
// its end, so that "Start home office" can be greyed out until then, and
// lifts it again by itself when that time comes.
func (c *Controller) failLocked(m state.Message, err error) error {
	now := c.opts.Now()
	until := portal.LockedUntil(err, now)
	c.mu.Lock()
	c.setLockLocked(until, now)
	c.mu.Unlock()
	return c.fail(state.NotConnected, problem.Wrap(problem.Limited, m, err))
}

// setLockLocked records the lock's end and arms its timer; zero until
// lifts it. c.mu must be held.
func (c *Controller) setLockLocked(until, now time.Time) {
	if c.lockTimer != nil {
		c.lockTimer.Stop()
		c.lockTimer = nil
	}
	c.lockedUntil = until
	if until.IsZero() {
		return
	}
	c.lockTimer = time.AfterFunc(until.Sub(now), func() { c.lockEnded(until) })
}

// lockEnded lifts the lock that ends at until, unless a newer start
// replaced it meanwhile: the lock's text is no longer true.
func (c *Controller) lockEnded(until time.Time) {
	c.op.Lock()
	defer c.op.Unlock()
	c.mu.Lock()
	if !c.lockedUntil.Equal(until) {
		c.mu.Unlock()
		return
	}
	c.lockTimer, c.lockedUntil = nil, time.Time{}
	c.mu.Unlock()
	cur := c.feed.Status()
	c.set(cur.Phase, nil, cur.Reconnecting)
	c.log.Info("the portal's lock on codes has ended")
}

// clearLock forgets a lock, e.g. when a new start tries again.
func (c *Controller) clearLock() {
	c.mu.Lock()
	c.setLockLocked(time.Time{}, time.Time{})
	c.mu.Unlock()
}
