package agent

import (
	"context"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/support"
)

// followSession tells the employee, once, when the day's authorisation
// has run out: the session cannot come back without a new code, and the
// tray icon alone is easy to miss.
//
// snaps is subscribed before the local API serves, so no session started
// through it can slip past, and atStart is the snapshot it held then,
// read by the subscriber at once: a later first read from snaps may
// already be a newer state (the mailbox keeps only the newest), and
// taking that for the start would swallow an expiry that happened in
// between.
func (a *Agent) followSession(ctx context.Context, atStart state.Snapshot, snaps <-chan state.Snapshot, cancel func()) {
	defer cancel()
	// Snapshots collapse, so the follower may never see the state before
	// an expiry; it remembers which expiry it told about instead, by the
	// time the session entered it (Since), and starts from the state at
	// subscription so an old expiry is not told again.
	var told time.Time
	if expired(atStart) {
		told = atStart.Since
	}
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-snaps:
			if !expired(s) || s.Since.Equal(told) {
				continue
			}
			told = s.Since
			n := announce.Notification{
				ID:       "session-expired",
				Severity: announce.SeverityInfo,
				Title:    a.cat.T("state.code_needed"),
				Body:     a.cat.T("session.expired"),
			}
			nctx, ncancel := context.WithTimeout(ctx, 10*time.Second)
			if err := a.notifier().Notify(nctx, n); err != nil {
				a.log.Warn("cannot show the expiry notification", "err", err)
			}
			ncancel()
		}
	}
}

// expired reports a session that needs a new code because the day's
// authorisation ran out.
func expired(s state.Snapshot) bool {
	return s.Session == state.CodeNeeded && s.Detail != nil && s.Detail.Key == "session.expired"
}

func (a *Agent) notifier() announce.Notifier {
	if a.opts.Notifier != nil {
		return a.opts.Notifier
	}
	return announce.DBusNotifier{AppName: a.cat.T("app.name")}
}

// screenShareEvery is how often the agent looks for a screen-sharing
// program: a scan of /proc's short names, a few milliseconds.
const screenShareEvery = 15 * time.Second

// followScreenSharing turns safe mode on when a screen-sharing program
// starts, so a QR code or key is not shown to the other side by accident.
// The employee may turn it off again; it comes back only with the next
// program that starts sharing.
func (a *Agent) followScreenSharing(ctx context.Context) {
	t := time.NewTicker(screenShareEvery)
	defer t.Stop()
	seen := ""
	for {
		name, ok := support.DetectSharing("/proc")
		if ok && name != seen {
			a.log.Info("screen sharing detected; hiding secrets", "program", name)
			_ = a.SetSafeMode(ctx, true)
		}
		seen = name
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
