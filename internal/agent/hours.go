package agent

import (
	"context"
	"errors"
	"time"

	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The working hours (issue 17): the portal decides per group when home
// office may start and tells the device in every session answer. The
// agent asks once the device is set up and then now and again; between
// answers it moves the snapshot's Hours across the boundaries by its own
// clock. Only with policy start_outside_office_hours off does it matter:
// the verdict then hides the start outside the hours (situation.Judge).
const (
	// hoursRefresh is how often the agent asks again: rules change only
	// when IT restarts the portal, groups seldom.
	hoursRefresh = 6 * time.Hour
	// hoursTick is how often the agent looks at its clock; a timer to the
	// next boundary would not notice a sleep or a changed clock.
	hoursTick = 30 * time.Second
	// hoursRenewBefore: the answer covers eight days; ask again a day
	// before it runs out, at most hourly.
	hoursRenewBefore = 24 * time.Hour
	hoursRenewEvery  = time.Hour
)

// hoursRetry is the wait after a failed question (portal away).
var hoursRetry = backoff.Policy{Base: 30 * time.Second, Max: 30 * time.Minute, Jitter: 0.5}

// hoursView is the snapshot's Hours for the portal's answer h at now;
// asked says whether the agent has asked since it started. loc is the
// zone "today" is meant in (the verdict's, time.Local).
func hoursView(h *portal.Hours, asked bool, now time.Time, loc *time.Location) state.Hours {
	v := state.Hours{Asked: asked}
	at := portal.HoursAt(h, now)
	if !at.Known {
		return v
	}
	v.Weekdays, v.From, v.Until = append([]string(nil), h.Weekdays...), h.From, h.Until
	if at.Inside {
		return v
	}
	v.Outside, v.NextStart = true, at.NextStart
	if !at.NextStart.IsZero() {
		ny, nm, nd := at.NextStart.In(loc).Date()
		ty, tm, td := now.In(loc).Date()
		v.NextToday = ny == ty && nm == tm && nd == td
	}
	return v
}

// followHours keeps the snapshot's Hours: the one owner of them. It
// asks the portal (GET /api/v1/session) once this computer is set up,
// and then as hoursRefresh and hoursRenewBefore say.
func (a *Agent) followHours(ctx context.Context) error {
	snaps, stop := a.store.Subscribe()
	defer stop()
	tick := time.NewTicker(hoursTick)
	defer tick.Stop()
	var (
		hours    *portal.Hours
		asked    bool
		answered time.Time // real time of the last answer
		next     time.Time // real time of the next question; zero: at once
		failures int
		enrolled bool
	)
	for {
		now := time.Now()
		renew := hours != nil && !a.now().Before(hours.Through.Add(-hoursRenewBefore)) && now.Sub(answered) >= hoursRenewEvery
		if enrolled && (!now.Before(next) || renew) {
			s, err := a.portal.SessionStatus(ctx)
			if ctx.Err() != nil {
				return nil
			}
			asked = true
			switch {
			case err == nil:
				hours, answered, failures = s.Hours, now, 0
				next = now.Add(backoff.Spread(hoursRefresh, 0.1, nil))
			default:
				if errors.Is(err, portal.ErrDeviceUnauthorised) {
					// Revoked (the wizard or the session says what to do), or
					// the credential not read from the keyring yet: ask again
					// as after any failure, but know nothing meanwhile.
					hours = nil
				}
				// Otherwise keep what the portal said last: the rules
				// seldom change.
				failures++
				next = now.Add(hoursRetry.Wait(failures, 0))
				a.log.Info("cannot ask the portal for the working hours; asking again later", "err", err, "retry_in", next.Sub(now).Round(time.Second))
			}
		}
		view := hoursView(hours, asked, a.now(), time.Local)
		a.setInputs(func(in *inputs) { in.Hours = view })
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-a.hoursKick:
			if failures > 0 {
				next = time.Time{} // a new network may reach the portal
			}
		case s := <-snaps:
			enrolled = s.Enrollment.Enrolled
		}
	}
}

// kickHours makes followHours look at the clock at once, and ask the
// portal again if the last question failed: after a network change,
// which is also how waking from sleep usually shows.
func (a *Agent) kickHours() {
	select {
	case a.hoursKick <- struct{}{}:
	default:
	}
}

// refuseOutsideHours refuses a start outside the working hours when the
// policy wants it not offered: the same rule that greys out "Homeoffice
// starten" in the tray, for the command line and the local API.
func (a *Agent) refuseOutsideHours() error {
	if a.store.Snapshot().Verdict.Situation != situation.OutsideHours {
		return nil
	}
	a.log.Info("session start refused: outside the working hours, and policy start_outside_office_hours is off")
	return fail(problem.Conflict, situation.OutsideHours, situation.KeyStartOutsideHours,
		"outside the working hours home office does not start ("+policy.KeyStartOutsideHours+" is off)")
}
