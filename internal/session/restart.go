package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/dienstweg/dienstweg/internal/state"
)

// ErrNotAuthorised: Resume found no authorisation to resume; a code is
// needed for a new session.
var ErrNotAuthorised = errors.New("the portal authorises no session for this device now")

// Resume brings the session up again without a code while the day's
// authorisation holds, as after the agent restarted for an update (Close
// kept the authorisation for this). Without one it leaves everything as
// it is and returns ErrNotAuthorised; a running session is left alone.
func (c *Controller) Resume(ctx context.Context) error {
	c.op.Lock()
	defer c.op.Unlock()
	if c.isRunning() {
		return nil
	}
	c.stopSupervisor() // one that ended by itself (an expiry) is reaped
	cred, err := c.opts.Keys.Credential()
	if err != nil {
		return fmt.Errorf("resuming: reading device credential: %w", err)
	}
	c.opts.Portal.SetCredential(cred)
	sess, err := c.opts.Portal.SessionStatus(ctx)
	if err != nil {
		return fmt.Errorf("resuming: asking the portal: %w", err)
	}
	if !sess.Authorised {
		return ErrNotAuthorised
	}
	c.log.Info("resuming the day's session without a code", "until", sess.Until)
	c.set(state.Connecting, msg(KeyConnecting), false)
	return c.bringUp(ctx, sess)
}
