//go:build !linux && !windows

package agent

import "context"

// watchNetwork: other platforms rely on the periodic checks for now.
func (a *Agent) watchNetwork(context.Context, *supervisor) {}
