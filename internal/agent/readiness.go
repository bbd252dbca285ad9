package agent

import (
	"context"

	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/situation"
)

// refuseStart says why no session can start, before the portal or the
// keyring is asked anything: a computer that is not set up has no keys,
// and reading them would only end in "could not be read, sign out and in
// again" (issue 15, #3). The verdict decides, as it does for the tray.
func (a *Agent) refuseStart(ctx context.Context) error {
	m, err := a.wizard(ctx) // "not set up" is known once it has read the keyring
	if err != nil {
		return err
	}
	a.mirrorEnrollment(m.View()) // judge the newest progress, not a late copy
	if a.store.Snapshot().Verdict.Situation == situation.NotSetUp {
		a.log.Info("session start refused: this computer is not set up yet", "wizard", m.String())
		return fail(problem.NotSetUp, situation.NotSetUp, situation.KeyStartNotSetUp, "this computer is not set up yet; the setup wizard comes first")
	}
	if err := a.refuseInOffice(); err != nil {
		return err
	}
	return a.refuseOutsideHours()
}
