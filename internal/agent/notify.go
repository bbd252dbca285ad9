package agent

import (
	"context"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/support"
)

// followSession tells the employee about the end of the day: the
// warning before the authorisation ends, with "Verlängern" (endofday.go),
// and, once, that it has run out: the session cannot come back without a
// new code, and the tray icon alone is easy to miss. events is subscribed
// before the local API serves and loses none (session.Feed), so each edge
// is told once and one from before the start is not told again. events
// is nil without a session.
func (a *Agent) followSession(ctx context.Context, events <-chan session.Event, cancel func()) {
	defer cancel()
	var warning endsSoonWarning
	defer warning.withdraw()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			switch e.Kind {
			case session.EndsSoon:
				warning.show(ctx, a, e.Until)
			case session.Extended, session.Ended, session.Revoked, session.Started:
				warning.withdraw()
			case session.Expired:
				warning.withdraw()
				a.tellExpired(ctx)
			}
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
// program that starts sharing. The setting safe_mode_on_screen_share
// turns this off (internal/policy).
func (a *Agent) followScreenSharing(ctx context.Context) {
	t := time.NewTicker(screenShareEvery)
	defer t.Stop()
	seen := ""
	for {
		name, ok := support.DetectSharing("/proc")
		if ok && name != seen && a.currentSettings().Bool(policy.KeySafeModeOnScreenShare) {
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
