package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
)

const (
	// keyringReadTimeout bounds the wizard's reads at start. They answer
	// at once for a locked or missing keyring; this bounds one that does
	// not answer at all.
	keyringReadTimeout = 30 * time.Second
	// keyringRecheck is how often a locked or missing keyring is looked
	// at again, so the agent continues soon after it was unlocked or
	// started.
	keyringRecheck = 2 * time.Second
)

// startKeyring runs after the API serves, never before: it reads the
// keyring for the wizard (and through it the device's credential),
// publishes whether the keyring can be used, asks the person to unlock a
// locked one, and continues by itself once it is usable again. It returns
// when ctx ends; wg tracks the goroutines it starts.
func (a *Agent) startKeyring(ctx context.Context, wg *sync.WaitGroup) {
	checker, _ := a.keyringRaw.(keyring.Checker)
	status := a.checkKeyring(ctx, checker)

	// The wizard's reads: at once for a locked or missing keyring (it
	// then shows its keyring page), bounded for a silent one.
	rctx, cancel := context.WithTimeout(ctx, keyringReadTimeout)
	m, err := enroll.New(rctx, enroll.Config{Portal: a.portal, Keyring: a.opts.Keyring, StateDir: a.opts.StateDir, Logger: a.log})
	cancel()
	if err != nil {
		// Only a programming error (New checks its configuration).
		a.log.Error("starting the setup wizard", "err", err)
		return
	}
	a.setWizard(m)
	wg.Add(1)
	go func() { defer wg.Done(); a.followEnrollment(ctx, m) }()
	if !m.Enrolled() && !a.opts.NoWizardAtStart {
		a.log.Info("device not set up; opening the setup wizard", "wizard", m.String())
		if err := a.OpenWindow(localapi.WindowWizard); err != nil {
			a.log.Error("opening the setup wizard", "err", err)
		}
	}
	if checker == nil {
		return // an in-memory store: nothing to watch
	}
	if errors.Is(status, keyring.ErrLocked) {
		a.requestUnlock(ctx)
	}
	for {
		wait := keyringRecheck
		if status == nil {
			wait = 0 // only when kicked: no polling of a working keyring
		}
		if !a.waitKeyringChange(ctx, wait) {
			return
		}
		was := status
		status = a.checkKeyring(ctx, checker)
		switch {
		case status == nil && was != nil:
			a.log.Info("keyring usable again; continuing")
			a.keyringUsable(ctx, m)
		case errors.Is(status, keyring.ErrLocked) && !errors.Is(was, keyring.ErrLocked):
			a.requestUnlock(ctx)
		}
	}
}

// waitKeyringChange waits d (0: until kicked) or a kick; false when ctx
// ended.
func (a *Agent) waitKeyringChange(ctx context.Context, d time.Duration) bool {
	var tick <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tick = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-tick:
	case <-a.keyringKick:
	}
	return true
}

// kickKeyring makes the keyring follower look again at once, e.g. after
// a read failed.
func (a *Agent) kickKeyring() {
	select {
	case a.keyringKick <- struct{}{}:
	default:
	}
}

// checkKeyring asks the store whether it can be used and publishes the
// answer. A store that cannot tell counts as usable.
func (a *Agent) checkKeyring(ctx context.Context, c keyring.Checker) error {
	var err error
	if c != nil {
		cctx, cancel := context.WithTimeout(ctx, keyringReadTimeout)
		err = c.Status(cctx)
		cancel()
	}
	if ctx.Err() != nil {
		return err // shutting down: not the keyring's state
	}
	k := state.Keyring{State: state.KeyringOK}
	switch {
	case err == nil:
	case errors.Is(err, keyring.ErrLocked):
		k = state.Keyring{State: state.KeyringLocked, Message: &state.Message{Key: session.KeyKeyringLocked}}
	default:
		k = state.Keyring{State: state.KeyringUnavailable, Message: &state.Message{Key: session.KeyKeyringUnavailable}}
	}
	if prev := a.store.Snapshot().Keyring.State; prev != k.State {
		if err != nil {
			a.log.Warn("keyring not usable", "state", k.State, "err", err)
		}
		a.store.Update(func(s *state.Snapshot) { s.Keyring = k })
	}
	return err
}

// keyringUsable continues what the keyring held up: the wizard leaves its
// keyring page (resuming reads the device, which gives the portal its
// credential), as if the person had clicked "Try again".
func (a *Agent) keyringUsable(ctx context.Context, m *enroll.Machine) {
	if m.View().Page != enroll.PageKeyring {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, keyringReadTimeout)
	defer cancel()
	v, err := m.Retry(rctx)
	if err != nil && !errors.Is(err, enroll.ErrBusy) && !errors.Is(err, enroll.ErrNotNow) {
		a.log.Warn("continuing the setup wizard after the keyring", "err", err)
	}
	a.mirrorEnrollment(v)
}

// requestUnlock shows the desktop's unlock prompt, in the background and
// one at a time, until the person answers or ctx (the agent's) ends,
// which withdraws it. The follower notices the unlocked keyring by
// itself; the prompt is only the quickest way for the person to do it.
func (a *Agent) requestUnlock(ctx context.Context) {
	u, ok := a.keyringRaw.(keyring.Unlocker)
	if !ok {
		return
	}
	a.bgMu.Lock()
	defer a.bgMu.Unlock()
	if a.bgClosed || a.unlocking || ctx.Err() != nil {
		return
	}
	a.unlocking = true
	a.log.Info("keyring locked; asking to unlock it")
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		err := u.Unlock(ctx)
		a.bgMu.Lock()
		a.unlocking = false
		a.bgMu.Unlock()
		if err != nil && ctx.Err() == nil {
			a.log.Info("keyring stays locked", "err", err)
		}
		a.kickKeyring()
	}()
}

// stopBackground waits for the goroutines of requestUnlock and lets no
// new one start.
func (a *Agent) stopBackground() {
	a.bgMu.Lock()
	a.bgClosed = true
	a.bgMu.Unlock()
	a.bg.Wait()
}

// keyringProblem is told about every failed read of the device's keys,
// and returns the error in the session's terms. A locked keyring gets the
// unlock prompt: the person just asked for something that needs it.
func (a *Agent) keyringProblem(err error) error {
	switch {
	case errors.Is(err, keyring.ErrLocked):
		a.kickKeyring()
		if a.ctx != nil {
			a.requestUnlock(a.ctx)
		}
		return fmt.Errorf("%w: %w", session.ErrKeysLocked, err)
	case errors.Is(err, keyring.ErrUnavailable):
		a.kickKeyring()
		return fmt.Errorf("%w: %w", session.ErrKeysUnavailable, err)
	}
	return err
}

// setWizard makes the wizard available to the API.
func (a *Agent) setWizard(m *enroll.Machine) {
	a.enroll = m
	close(a.wizardReady)
}

// wizard waits for the wizard, which exists once the keyring was read
// after the start.
func (a *Agent) wizard(ctx context.Context) (*enroll.Machine, error) {
	select {
	case <-a.wizardReady:
		return a.enroll, nil
	case <-ctx.Done():
		return nil, fail(problem.Unavailable, "wizard_starting", "error.not_available", "the setup wizard is still reading the keyring")
	}
}
