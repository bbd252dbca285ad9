package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/dienstweg/dienstweg/internal/localapi"
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
// wizard opens by itself there); wait while the keyring, the network,
// the portal or the helper are not ready, or health has not looked yet.
func autoStartFor(s state.Snapshot) autoStart {
	switch {
	case s.Session.Active(s.Running):
		return autoStartNever
	}
	switch s.Verdict.Situation {
	case situation.InOffice, situation.LockedOut, situation.NotSetUp, situation.NoProfile:
		return autoStartNever
	case state.NotConnected.String(), state.CodeNeeded.String():
		if s.Verdict.Start != state.StartCode || s.Health.CheckedAt.IsZero() || !s.Enrollment.Enrolled {
			return autoStartWaitMore
		}
		return autoStartPrompt
	}
	return autoStartWaitMore
}

// promptOnceAfterLogin opens the code prompt at most once: when the
// first snapshot after the office check's first answer (known; nil when
// there is no check) decides for it. The agent runs once per login, so
// this is once per login.
func promptOnceAfterLogin(ctx context.Context, snaps <-chan state.Snapshot, known <-chan struct{}, open func(string) error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, autoStartWait)
	defer cancel()
	if known != nil {
		select {
		case <-known:
		case <-ctx.Done():
			log.Info("automatic code prompt: the office check did not answer in time; not prompting")
			return
		}
	}
	for {
		select {
		case <-ctx.Done():
			log.Info("automatic code prompt: not ready in time; not prompting")
			return
		case s := <-snaps:
			switch autoStartFor(s) {
			case autoStartNever:
				log.Info("automatic code prompt: not needed", "situation", s.Verdict.Situation, "session", s.Session.String())
				return
			case autoStartPrompt:
				log.Info("automatic code prompt: asking for the code")
				if err := open(localapi.WindowCode); err != nil {
					log.Error("automatic code prompt", "err", err)
				}
				return
			}
		}
	}
}
