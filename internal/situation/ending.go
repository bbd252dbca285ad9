package situation

import (
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The end of the day (issue 17): the warning before the authorisation
// ends, and the state once it has.
const (
	// EndsSoon: the session runs and its authorisation ends within the
	// warning time; "Verlängern" is offered.
	EndsSoon = "ends_soon"
	// Expired: the authorisation ran out; the tunnel is down and a new
	// code is the one way on. Never "connected".
	Expired = "expired"

	KeyEndsSoonHeadline = "verdict.ends_soon.headline" // {{.Time}}
	KeyEndsSoonAdvice   = "verdict.ends_soon.advice"   // {{.Time}}
	KeyExpiredHeadline  = "verdict.expired.headline"
	KeyExpiredAdvice    = "verdict.expired.advice" // {{.Time}}
)

func endingKeys() []string {
	return []string{KeyEndsSoonHeadline, KeyEndsSoonAdvice, KeyExpiredHeadline, KeyExpiredAdvice}
}

// endsSoon adds the offer to extend to a running session's verdict v. A
// working connection says when it ends in the headline; a troubled one
// keeps its own words, which matter more, and still offers to extend.
func endsSoon(v state.Verdict, s state.Snapshot, loc *time.Location) state.Verdict {
	if !s.Authorisation.EndsSoon {
		return v
	}
	v.Extend = true
	if s.Session == state.Connected {
		at := map[string]string{"Time": clockAt(s.Authorisation.Until, loc)}
		v.Situation = EndsSoon
		v.Headline = state.Message{Key: KeyEndsSoonHeadline, Args: at}
		v.Advice = state.Message{Key: KeyEndsSoonAdvice, Args: at}
	}
	return v
}

// expired is the verdict after the authorisation ran out.
func expired(s state.Snapshot, loc *time.Location) state.Verdict {
	return state.Verdict{Situation: Expired, Icon: state.CodeNeeded,
		Headline: state.Message{Key: KeyExpiredHeadline},
		Advice:   state.Message{Key: KeyExpiredAdvice, Args: map[string]string{"Time": clockAt(s.Authorisation.Until, loc)}},
		Start:    state.StartCode}
}

// clockAt is t as "15:04" in loc (nil: time.Local); the end of an
// authorisation is on a whole minute, so rounding never shows.
func clockAt(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return portal.MinuteAfter(t, loc)
}
