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
// through it can slip past.
func (a *Agent) followSession(ctx context.Context, snaps <-chan state.Snapshot, cancel func()) {
	defer cancel()
	// Snapshots collapse, so a quick Connected → Code needed → Connected
	// → Code needed may arrive as one change; Since moves with every
	// change of the session state, so it tells a new entry apart. The
	// first value is the state at subscription.
	var last time.Time
	select {
	case <-ctx.Done():
		return
	case first := <-snaps:
		last = first.Since
	}
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-snaps:
			entered := !s.Since.Equal(last)
			last = s.Since
			if !entered || s.Session != state.CodeNeeded || s.Detail == nil || s.Detail.Key != "session.expired" {
				continue
			}
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
