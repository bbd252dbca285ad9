package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dienstweg/dienstweg/internal/keyring"
)

// secretServiceState says in a few words whether the keyring can be used,
// for the diagnostics bundle. It asks the store itself (never prompting,
// bounded in time), so the bundle says what the agent sees: a locked or
// silent keyring cannot hold up the bundle.
func (a *Agent) secretServiceState(ctx context.Context) string {
	c, ok := a.keyringRaw.(keyring.Checker)
	if !ok {
		return "unknown (this keyring cannot tell)"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := c.Status(ctx)
	switch {
	case err == nil:
		return "running; unlocked"
	case errors.Is(err, keyring.ErrLocked):
		return fmt.Sprintf("locked: %v", err)
	}
	return fmt.Sprintf("not available: %v", err)
}
