package agent

import (
	"context"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
)

// actionExtend is the key of the warning's "Verlängern" button.
const actionExtend = "extend"

// authorisationOf is the day's authorisation as the snapshot shows it:
// its end only while it matters (a running session, or the one that
// expired), so a stale end is never shown.
func authorisationOf(st session.Status) state.Authorisation {
	au := state.Authorisation{EndsSoon: st.EndsSoon && st.Running, Expired: st.Expired}
	if st.Running || st.Expired {
		au.Until = st.Until
	}
	return au
}

// endsSoonWarning is the one warning shown before the authorisation
// ends. Only followSession's goroutine uses it.
type endsSoonWarning struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// show puts up the warning with "Verlängern"; a click opens the code
// prompt, whose code extends the session (session.Controller.Start while
// it runs). A desktop without buttons on notifications gets the text
// alone; the tray and the status window offer the same.
func (w *endsSoonWarning) show(ctx context.Context, a *Agent, until time.Time) {
	w.withdraw()
	at := map[string]string{"Time": until.In(time.Local).Format("15:04")}
	n := announce.Notification{
		ID:       "session-ends-soon",
		Severity: announce.SeverityInfo,
		Title:    a.cat.T("notify.ends_soon.title", at),
		Body:     a.cat.T("notify.ends_soon.body"),
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	w.cancel, w.done = cancel, done
	go func() {
		defer close(done)
		asker, ok := a.notifier().(announce.Asker)
		if !ok {
			nctx, ncancel := context.WithTimeout(wctx, 10*time.Second)
			defer ncancel()
			if err := a.notifier().Notify(nctx, n); err != nil {
				a.log.Warn("cannot show the warning before the end of the session", "err", err)
			}
			return
		}
		key, err := asker.Ask(wctx, n, []announce.Action{{Key: actionExtend, Label: a.cat.T("notify.ends_soon.extend")}})
		switch {
		case err != nil && wctx.Err() == nil:
			a.log.Warn("cannot show the warning before the end of the session", "err", err)
		case key == actionExtend:
			a.log.Info("the employee chose to extend the session from the notification")
			if err := a.OpenWindow(localapi.WindowCode); err != nil {
				a.log.Error("opening the code prompt to extend", "err", err)
			}
		}
	}()
}

// withdraw takes the warning away (extended, ended) and waits for it.
func (w *endsSoonWarning) withdraw() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	<-w.done
	w.cancel, w.done = nil, nil
}

// tellExpired says once that the authorisation ran out.
func (a *Agent) tellExpired(ctx context.Context) {
	n := announce.Notification{
		ID:       "session-expired",
		Severity: announce.SeverityInfo,
		Title:    a.cat.T("notify.expired.title"),
		Body:     a.cat.T(session.KeyExpired),
	}
	nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.notifier().Notify(nctx, n); err != nil {
		a.log.Warn("cannot show the expiry notification", "err", err)
	}
}
