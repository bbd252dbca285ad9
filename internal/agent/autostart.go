package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// How the agent starts at login today: on Linux the package installs
// /etc/xdg/autostart/de.dienstweg.client.desktop (Exec=dienstweg), on
// Windows the MSI writes the HKLM Run value "Dienstweg" for
// dienstwegw.exe; both start one agent per user and login. With
// Config.AutoStart that agent also asks for the code by itself.

// autoStartWait bounds how long after the start the prompt may still
// open by itself: Wi-Fi and the keyring are often ready only seconds
// after login, but a prompt half an hour later would come out of nowhere.
const autoStartWait = 3 * time.Minute

// autoStart is what to do with the automatic code prompt for a snapshot.
type autoStart int

const (
	autoStartWaitMore autoStart = iota // not decided yet: look again
	autoStartPrompt                    // open the code prompt now
	autoStartNever                     // not in this login
)

// autoStartFor decides by the verdict, the one judge of what can start:
// prompt where "Homeoffice starten" would open the code prompt and
// nothing stands in the way; never where a session runs, in the office,
// after too many wrong codes, or on a computer that is not set up (the
// wizard opens by itself there) or outside the working hours (when
// policy says so); wait while the keyring, the network,
// the portal or the helper are not ready, or health has not looked yet.
func autoStartFor(s state.Snapshot) autoStart {
	switch {
	case s.Session.Active(s.Running):
		return autoStartNever
	}
	switch s.Verdict.Situation {
	case situation.InOffice, situation.LockedOut, situation.NotSetUp, situation.NoProfile, situation.OutsideHours:
		return autoStartNever
	case state.NotConnected.String(), state.CodeNeeded.String():
		if s.Verdict.Start != state.StartCode || s.Health.CheckedAt.IsZero() || !s.Enrollment.Enrolled {
			return autoStartWaitMore
		}
		if !s.Hours.Asked && !situation.StartOutsideHoursAllowed(s) {
			// The working hours may forbid the start: ask the portal first.
			return autoStartWaitMore
		}
		return autoStartPrompt
	}
	return autoStartWaitMore
}

// resumer is a session that can come back without a code while the
// day's authorisation holds; *session.Controller is one.
type resumer interface {
	Resume(ctx context.Context) error
}

// resumeOrPrompt is the session's start of this agent process. After a
// restart for an update in which a session ran, it resumes that session
// without a code; otherwise, with Config.AutoStart, it prompts for the
// code once per login and day, so that a restart (the self-update's)
// asks no second time.
func (a *Agent) resumeOrPrompt(ctx context.Context, known <-chan struct{}) {
	mark, err := a.loginMem.load()
	if err != nil {
		a.log.Warn("reading what this login did today; deciding afresh", "err", err)
	}
	if mark.Resume {
		a.resumeAfterUpdate(ctx)
		return
	}
	if !a.opts.AutoStart {
		return
	}
	if mark.Asked {
		a.log.Info("automatic code prompt: already decided in this login today")
		return
	}
	snaps, stop := a.store.Subscribe()
	defer stop()
	if !promptOnceAfterLogin(ctx, snaps, known, a.OpenWindow, a.log) {
		return
	}
	if err := a.loginMem.update(func(m *loginMark) { m.Asked = true }); err != nil {
		a.log.Warn("remembering the automatic code prompt", "err", err)
	}
}

// resumeAfterUpdate brings back the session that ran when the agent
// restarted for an update. The mark is spent either way: if the
// authorisation has ended, starting is the person's again, and the
// automatic prompt of this login was decided before the session ran.
func (a *Agent) resumeAfterUpdate(ctx context.Context) {
	if err := a.loginMem.update(func(m *loginMark) { m.Resume, m.Asked = false, true }); err != nil {
		a.log.Warn("remembering the resumed session", "err", err)
	}
	r, ok := a.opts.Session.(resumer)
	if !ok {
		return
	}
	err := r.Resume(ctx)
	switch {
	case errors.Is(err, session.ErrNotAuthorised):
		a.log.Info("the session before the update is no longer authorised; a code starts the next")
	case err != nil:
		a.log.Warn("resuming the session after the update", "err", err)
	}
}

// rememberSessionForUpdate marks a session that runs while the agent
// quits for an update, so that the new version resumes it without a
// code (the quit keeps the authorisation: Close).
func (a *Agent) rememberSessionForUpdate() {
	if a.restartErr() == nil || a.opts.Session == nil || !a.opts.Session.Status().Running {
		return
	}
	if err := a.loginMem.update(func(m *loginMark) { m.Resume = true }); err != nil {
		a.log.Warn("remembering the session for after the update", "err", err)
	}
}

// promptOnceAfterLogin opens the code prompt at most once: when the
// first snapshot after the office check's first answer (known; nil when
// there is no check) decides for it. It reports whether it decided
// (opened the prompt, found it not needed, or gave up after
// autoStartWait); false means ctx ended first, as when the agent quits.
func promptOnceAfterLogin(ctx context.Context, snaps <-chan state.Snapshot, known <-chan struct{}, open func(string) error, log *slog.Logger) bool {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, autoStartWait)
	defer cancel()
	if known != nil {
		select {
		case <-known:
		case <-ctx.Done():
			if parent.Err() != nil {
				return false
			}
			log.Info("automatic code prompt: the office check did not answer in time; not prompting")
			return true
		}
	}
	for {
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return false
			}
			log.Info("automatic code prompt: not ready in time; not prompting")
			return true
		case s := <-snaps:
			switch autoStartFor(s) {
			case autoStartNever:
				log.Info("automatic code prompt: not needed", "situation", s.Verdict.Situation, "session", s.Session.String())
				return true
			case autoStartPrompt:
				log.Info("automatic code prompt: asking for the code")
				if err := open(localapi.WindowCode); err != nil {
					log.Error("automatic code prompt", "err", err)
				}
				return true
			}
		}
	}
}
