package agent

import (
	"context"
	"errors"
	"sync"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/redact"
	"github.com/dienstweg/dienstweg/internal/state"
)

// redactingKeyring registers every secret that passes through it with
// internal/redact, so that a secret which ever reached a log or an error
// text is still removed from the diagnostics bundle.
type redactingKeyring struct{ keyring.Store }

func (r redactingKeyring) Get(ctx context.Context, account string) (string, error) {
	v, err := r.Store.Get(ctx, account)
	if err == nil {
		redact.Register(v)
	}
	return v, err
}

func (r redactingKeyring) Set(ctx context.Context, account, secret string) error {
	redact.Register(secret)
	return r.Store.Set(ctx, account, secret)
}

// Enroll implements localapi.Enrollment: one action of the setup wizard.
func (a *Agent) Enroll(ctx context.Context, act localapi.EnrollAction) (enroll.View, error) {
	// What the person typed is secret from here on, in the log and in the
	// diagnostics bundle alike.
	redact.Register(act.ActivationCode)
	redact.Register(act.Code)
	m, err := a.wizard(ctx)
	if err != nil {
		return enroll.View{}, err
	}
	if act.Action == localapi.EnrollRetry && a.store.Snapshot().Keyring.State == state.KeyringLocked && a.ctx != nil {
		// "Try again" on the keyring page: the person is there, so show
		// the unlock prompt; the retry below still answers at once.
		a.requestUnlock(a.ctx)
	}
	var v enroll.View
	switch act.Action {
	case "":
		v = m.View()
	case localapi.EnrollNext:
		v, err = m.Next(ctx)
	case localapi.EnrollBack:
		v, err = m.Back()
	case localapi.EnrollToggleSecret:
		if a.store.Snapshot().SafeMode {
			return a.mask(m.View()), fail(problem.Conflict, "safe_mode", "enroll.safe_mode", "screen-share safe mode hides the code")
		}
		v, err = m.ToggleSecret()
	case localapi.EnrollSignIn:
		v, err = m.SubmitSignIn(ctx, act.User, act.ActivationCode)
	case localapi.EnrollCode:
		v, err = m.SubmitCode(ctx, act.Code)
	case localapi.EnrollRetry:
		v, err = m.Retry(ctx)
	case localapi.EnrollRestart:
		if err := a.refuseReenroll(); err != nil {
			return a.mask(m.View()), err
		}
		v, err = m.Restart(ctx)
	case localapi.EnrollNewSecret:
		v, err = m.NewSecret(ctx)
	default:
		return m.View(), fail(problem.Invalid, "bad_action", "", "unknown wizard action "+act.Action)
	}
	// The state answers for the wizard as soon as the action returns: a
	// caller that saw "done" must not read "not set up" from the status.
	a.mirrorEnrollment(v)
	switch {
	case errors.Is(err, enroll.ErrBusy):
		err = fail(problem.Conflict, "busy", "", "the wizard is busy with the previous step")
	case errors.Is(err, enroll.ErrNotNow):
		// A stale window: it gets the current view and renders that.
		err = nil
	}
	return a.mask(v), err
}

// SubscribeEnroll implements localapi.Enrollment. The wizard's views pass
// through mask, so safe mode holds even for a window that missed it.
// Until the wizard exists (the keyring is read right after the start),
// the stream waits for it.
func (a *Agent) SubscribeEnroll() (<-chan enroll.View, func()) {
	out := make(chan enroll.View, 1)
	done := make(chan struct{})
	go func() {
		var m *enroll.Machine
		select {
		case <-done:
			return
		case <-a.wizardReady:
			m = a.enroll
		}
		in, cancel := m.Subscribe()
		defer cancel()
		for {
			select {
			case <-done:
				return
			case v := <-in:
				state.Offer(out, a.mask(v))
			}
		}
	}()
	var once sync.Once
	return out, func() { once.Do(func() { close(done) }) }
}

// mask hides the QR code's URI and the manual key in safe mode, and
// "set up again" on a set-up device where policy forbids it.
func (a *Agent) mask(v enroll.View) enroll.View {
	if v.Enrolled && !a.currentSettings().Bool(policy.KeyAllowReenroll) {
		v.CanRestart = false
	}
	if v.Authenticator == nil || !a.store.Snapshot().SafeMode {
		return v
	}
	auth := *v.Authenticator
	auth.Hidden, auth.URI, auth.ManualKey = true, "", ""
	v.Authenticator = &auth
	return v
}

// followEnrollment mirrors the wizard into the state that the tray, the
// status window and `dienstweg status` show, for changes that no API
// call of the wizard made (resuming, a retry once the keyring is usable).
func (a *Agent) followEnrollment(ctx context.Context, m *enroll.Machine) {
	views, cancel := m.Subscribe()
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case v := <-views:
			a.mirrorEnrollment(v)
		}
	}
}

// mirrorEnrollment puts the wizard's view into the state unless a newer
// one is there already. Both the follower and every wizard action call
// it, in either order: the view's Seq decides, so a follower that read a
// view before an action finished cannot put the older one back.
func (a *Agent) mirrorEnrollment(v enroll.View) {
	a.enrollMu.Lock()
	defer a.enrollMu.Unlock()
	if a.enrollMirrored && v.Seq <= a.enrollSeq {
		return
	}
	a.enrollMirrored, a.enrollSeq = true, v.Seq
	a.wizardCode = v.Code
	a.setInputs(func(in *inputs) {
		in.Enrollment = state.Enrollment{Enrolled: v.Enrolled, Step: string(v.Step), User: v.User}
	})
}
