package agent

import (
	"context"
	"errors"
	"github.com/dienstweg/dienstweg/internal/policy"
	"runtime"
	"sync"

	"github.com/dienstweg/dienstweg/internal/office"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/situation"
)

// newOffice builds the in-office check from the profile's office_check;
// nil without one. The check runs at start and on every network change
// (networkChanged); what it finds goes into the projection, and the
// verdict (situation.Judge) decides what the tray offers.
func (a *Agent) newOffice() (*office.Watcher, error) {
	a.setInputs(func(in *inputs) { in.Office.StartAllowed = a.opts.AllowStartInOffice })
	if e := a.currentSettings().Get(policy.KeyOfficeCheck); e.Value == false {
		if e.Locked {
			a.log.Info("the in-office check is off by policy (office_check)")
		}
		return nil, nil
	}
	probe, err := office.ProbeFromProfile(a.opts.Profile)
	if err != nil || probe == nil {
		return nil, err
	}
	return office.NewWatcher(notThroughOwnTunnel{probe, a}, 0, func(in bool) {
		a.setInputs(func(i *inputs) { i.Office.InOffice = in })
	}, a.log.With("component", "office")), nil
}

// watchOffice runs the check under the agent's supervisor, and the
// session's start of the login: resumed after an update, or, if the
// profile asks, the code prompt once per login and day (autostart.go).
func (a *Agent) watchOffice(ctx context.Context, sup *supervisor, wg *sync.WaitGroup) {
	var known <-chan struct{}
	if a.office != nil {
		sup.start(ctx, component{"office", a.office.Run})
		known = a.office.Known()
		if a.opts.Session != nil {
			states, stop := a.opts.Session.Subscribe()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer stop()
				triggerOnRunningEdges(ctx, states, a.office.Trigger)
			}()
		}
	}
	if a.opts.Session != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.resumeOrPrompt(ctx, known)
		}()
	}
}

// errOwnTunnelRuns: off Linux the check cannot tell the tunnel's path
// from the office's (office.OutsideTunnel), so while the session runs it
// finds "not in the office", the verdict of a session at home.
var errOwnTunnelRuns = errors.New("the home-office tunnel runs; on this platform the office check cannot go around it")

// notThroughOwnTunnel is the probe, except off Linux while a session
// runs, where the office host would answer through the tunnel.
type notThroughOwnTunnel struct {
	probe *office.Probe
	a     *Agent
}

func (n notThroughOwnTunnel) Check(ctx context.Context) error {
	if runtime.GOOS != "linux" && n.a.opts.Session != nil && n.a.opts.Session.Status().Running {
		return errOwnTunnelRuns
	}
	return n.probe.Check(ctx)
}

// refuseInOffice refuses a start in the office, unless IT allows it: the
// same rule that hides "Homeoffice starten" in the tray, for the command
// line and the local API.
func (a *Agent) refuseInOffice() error {
	if a.store.Snapshot().Verdict.Situation != situation.InOffice {
		return nil
	}
	a.log.Info("session start refused: this computer is in the office network")
	return fail(problem.Conflict, situation.InOffice, situation.KeyStartInOffice, "this computer is in the office network; home office is not needed here")
}

// triggerOnRunningEdges checks again when a session starts or stops
// running: its tunnel changes the way to the office host (off Linux the
// check pauses while it runs), and IPv4 drops a removed tunnel's routes
// without a notice that the route watch would see.
func triggerOnRunningEdges(ctx context.Context, states <-chan session.Status, trigger func()) {
	running, known := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-states:
			if known && st.Running != running {
				trigger()
			}
			running, known = st.Running, true
		}
	}
}
