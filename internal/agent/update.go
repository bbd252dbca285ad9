package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/support"
	"github.com/dienstweg/dienstweg/internal/update"
	"github.com/dienstweg/dienstweg/internal/version"
)

// RestartForUpdate is returned by Run when a new version was installed:
// main hands over to it (update.Handoff) once the socket is closed.
type RestartForUpdate struct {
	Installed *update.Installed
}

func (r *RestartForUpdate) Error() string {
	return fmt.Sprintf("restarting for update to %s", r.Installed.Version)
}

// AsRestartForUpdate reports whether err asks for the update handover.
func AsRestartForUpdate(err error) (*update.Installed, bool) {
	var r *RestartForUpdate
	if errors.As(err, &r) {
		return r.Installed, true
	}
	return nil, false
}

// newUpdater builds the self-update, or nil where there is nothing to
// update against: a development build, or a profile without signing keys.
func (a *Agent) newUpdater() (*update.Updater, error) {
	if version.Version == "" || len(a.opts.Profile.UpdateKeys) == 0 {
		a.log.Info("self-update off", "release_build", version.Version != "", "update_keys", len(a.opts.Profile.UpdateKeys))
		return nil, nil
	}
	id, err := support.DeviceID(a.opts.StateDir)
	if err != nil {
		return nil, err
	}
	u, err := update.New(update.Config{
		Source:   a.portal,
		Sessions: a.opts.Session,
		Report:   a.store.AddError,
		Keys:     a.opts.Profile.UpdateKeys,
		Channel:  a.opts.Profile.Channel(),
		Version:  version.String(),
		DeviceID: id,
		Dir:      a.opts.StateDir,
		Interval: time.Duration(a.currentSettings().Int(policy.KeyUpdateCheckHours)) * time.Hour,
		Logger:   a.log,
		// Called from the updater's loop: record and stop, never block.
		Restart: func(inst *update.Installed) {
			a.restartMu.Lock()
			a.restart = inst
			a.restartMu.Unlock()
			a.Quit()
		},
	})
	if err != nil {
		return nil, fmt.Errorf("self-update: %w", err)
	}
	return u, nil
}

// CheckUpdate implements localapi.Updates: a check now, from the tray.
func (a *Agent) CheckUpdate(context.Context) error {
	if a.updater == nil {
		return errNotAvailable
	}
	a.updater.CheckNow()
	return nil
}

// restartErr is Run's result after the updater asked for a restart.
func (a *Agent) restartErr() error {
	a.restartMu.Lock()
	defer a.restartMu.Unlock()
	if a.restart == nil {
		return nil
	}
	return &RestartForUpdate{Installed: a.restart}
}

// ChooseUpdate implements localapi.Updates.
func (a *Agent) ChooseUpdate(ctx context.Context, choice string) error {
	if a.updater == nil {
		return errNotAvailable
	}
	c := update.ChoiceAtSessionEnd
	if choice == localapi.UpdateNow {
		c = update.ChoiceNow
	}
	if err := a.updater.Choose(ctx, c); err != nil {
		e := problem.New(problem.Conflict, "update.error.nothing_to_install", err)
		e.Code = "update"
		return e
	}
	// The caller reads its choice in the status at once.
	a.setInputs(func(in *inputs) { in.Update = a.updater.Status() })
	return nil
}
