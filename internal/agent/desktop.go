package agent

import (
	"context"
	"fmt"
	"slices"

	"github.com/dienstweg/dienstweg/internal/desktop"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/state"
)

// OpenDesktop implements localapi.Desktops: "Arbeitsplatz öffnen"
// starts the system's own client for the office desktop, as the
// employee, if the verdict offers that desktop now. The client outlives
// the request and the agent: quitting Dienstweg does not close the
// employee's desktop.
func (a *Agent) OpenDesktop(_ context.Context, name string) (localapi.DesktopOpened, error) {
	d, ok := a.opts.Profile.Desktop(name)
	if !ok {
		return localapi.DesktopOpened{}, problem.New(problem.Invalid, desktop.KeyUnknown, fmt.Errorf("no office desktop %q in the profile", name))
	}
	if !slices.Contains(a.store.Snapshot().Verdict.Desktops, name) {
		return localapi.DesktopOpened{}, problem.New(problem.Conflict, desktop.KeyNotAvailable, nil, "Desktop", name)
	}
	plan, err := desktop.Choose(d, a.opts.DesktopEnv)
	if err == nil {
		var wait func() error
		wait, err = desktop.Start(context.Background(), plan, a.opts.DesktopEnv.TempDir, a.opts.UIOutput)
		if err == nil {
			a.log.Info("office desktop opened", "desktop", name, "client", plan.Client, "program", plan.Argv[0])
			go func() {
				err := wait()
				a.log.Info("office desktop client ended", "desktop", name, "client", plan.Client, "err", err)
			}()
			return localapi.DesktopOpened{Client: plan.Client, Message: state.Message{Key: desktop.KeyOpened,
				Args: map[string]string{"Desktop": name, "Client": a.cat.T(desktop.ClientNameKey(plan.Client))}}}, nil
		}
	}
	if p, ok := problem.As(err); ok {
		a.store.AddError(p.Msg) // for the support window
	}
	a.log.Warn("opening the office desktop", "desktop", name, "err", err)
	return localapi.DesktopOpened{}, err
}
