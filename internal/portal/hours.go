package portal

import "time"

// HoursNow is what the portal's working hours (Session.Hours) say about
// one moment.
type HoursNow struct {
	// Known: the portal's answer reaches this moment. Unknown hours
	// never keep a start from being offered: the portal decides then.
	Known bool
	// Inside: a start is possible now.
	Inside bool
	// NextStart is the next moment a start is possible, while not
	// Inside; zero when the answer does not reach that far.
	NextStart time.Time
}

// HoursAt reads h at now. A nil h (no rule limits the user, or a portal
// before issue 17) and a moment past h.Through are unknown.
func HoursAt(h *Hours, now time.Time) HoursNow {
	if h == nil || !now.Before(h.Through) {
		return HoursNow{}
	}
	out := HoursNow{Known: true}
	for _, p := range h.Starts {
		switch {
		case !now.Before(p.From) && now.Before(p.Until):
			return HoursNow{Known: true, Inside: true}
		case p.From.After(now) && (out.NextStart.IsZero() || p.From.Before(out.NextStart)):
			out.NextStart = p.From
		}
	}
	return out
}
