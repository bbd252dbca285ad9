//go:build windows

package agent

import "context"

// watchNetwork tells the session's supervisor when the laptop wakes
// (power events); network changes are noticed by the periodic checks.
func (a *Agent) watchNetwork(ctx context.Context, _ *supervisor) {
	if a.supervisor == nil {
		return
	}
	if err := a.supervisor.WatchPowerResume(ctx); err != nil {
		a.log.Warn("resume from sleep is noticed by the clock only", "err", err)
	}
}
