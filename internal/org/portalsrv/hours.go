package portalsrv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// Hours are the organisation's working-hours rules: when a group may
// start home office and how long an authorisation may last (IT-Grundschutz
// NET.3.3: remote access only at the times it is needed). They live in the
// portal's configuration (`dienstweg-portal serve --hours FILE`), not in
// the store, so IT changes them like any other setting.
//
// The first rule that names one of the user's groups, or "*", applies.
// Without a matching rule (or with no rules at all) home office is
// possible at any time, and ends at Config.SessionEnd, at least
// Config.MinSession after the start: the behaviour before rules existed.
type Hours struct {
	Rules []HoursRule `json:"rules"`
}

// HoursRule is one group's working hours. Times are "HH:MM" in the
// organisation's time zone; "24:00" is midnight at the end of the day.
type HoursRule struct {
	// Groups the rule applies to; "*" is every user.
	Groups []string `json:"groups"`
	// Weekdays home office is possible on: "mon".."sun" or "mo".."so";
	// empty means every day.
	Weekdays []string `json:"weekdays,omitempty"`
	// From is the earliest start; "" means 00:00.
	From string `json:"from,omitempty"`
	// End is when a day's authorisation normally ends.
	End string `json:"end"`
	// Latest is the end of the day no authorisation and no extension
	// passes; "" means no limit. After it, no start is possible that day.
	Latest string `json:"latest,omitempty"`
	// ExtendMinutes is how much a new code adds to a running
	// authorisation, up to Latest. Default 60.
	ExtendMinutes int `json:"extend_minutes,omitempty"`
}

// rule is a parsed HoursRule.
type rule struct {
	groups   []string
	days     [7]bool // by time.Weekday
	from     time.Duration
	end      time.Duration
	latest   time.Duration // 0: no limit
	extendBy time.Duration
}

var weekdayNames = map[string]time.Weekday{
	"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
	"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
	"mo": time.Monday, "di": time.Tuesday, "mi": time.Wednesday, "do": time.Thursday,
	"fr": time.Friday, "sa": time.Saturday, "so": time.Sunday,
}

// LoadHours reads a rules file (JSON, see Hours) and checks it.
func LoadHours(path string) (*Hours, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading working hours: %w", err)
	}
	var h Hours
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("reading working hours %s: %w", path, err)
	}
	if _, err := h.compile(); err != nil {
		return nil, fmt.Errorf("working hours %s: %w", path, err)
	}
	return &h, nil
}

func clock(s string, empty time.Duration) (time.Duration, error) {
	if s == "" {
		return empty, nil
	}
	if s == "24:00" {
		return 24 * time.Hour, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is no time of day (HH:MM)", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func (h *Hours) compile() ([]rule, error) {
	if h == nil {
		return nil, nil
	}
	out := make([]rule, 0, len(h.Rules))
	for i, r := range h.Rules {
		bad := func(err error) ([]rule, error) { return nil, fmt.Errorf("rule %d: %w", i+1, err) }
		if len(r.Groups) == 0 {
			return bad(errors.New(`names no groups (use "*" for everyone)`))
		}
		c := rule{groups: r.Groups, extendBy: time.Duration(r.ExtendMinutes) * time.Minute}
		if r.ExtendMinutes == 0 {
			c.extendBy = time.Hour
		}
		if r.ExtendMinutes < 0 {
			return bad(errors.New("extend_minutes is negative"))
		}
		for _, d := range r.Weekdays {
			wd, ok := weekdayNames[strings.ToLower(d)]
			if !ok {
				return bad(fmt.Errorf("%q is no weekday (mon..sun or mo..so)", d))
			}
			c.days[wd] = true
		}
		if len(r.Weekdays) == 0 {
			c.days = [7]bool{true, true, true, true, true, true, true}
		}
		var err error
		if c.from, err = clock(r.From, 0); err != nil {
			return bad(fmt.Errorf("from: %w", err))
		}
		if r.End == "" {
			return bad(errors.New("end is missing"))
		}
		if c.end, err = clock(r.End, 0); err != nil {
			return bad(fmt.Errorf("end: %w", err))
		}
		if c.latest, err = clock(r.Latest, 0); err != nil {
			return bad(fmt.Errorf("latest: %w", err))
		}
		switch {
		case c.end <= c.from:
			return bad(fmt.Errorf("end %s is not after from %s", r.End, r.From))
		case c.latest != 0 && c.latest < c.end:
			return bad(fmt.Errorf("latest %s is before end %s", r.Latest, r.End))
		}
		out = append(out, c)
	}
	return out, nil
}

// ruleFor is the first rule for one of groups; nil when none applies.
func ruleFor(rules []rule, groups []string) *rule {
	for i := range rules {
		for _, g := range rules[i].groups {
			if g == "*" || slices.Contains(groups, g) {
				return &rules[i]
			}
		}
	}
	return nil
}

// at is the wall-clock time off (since midnight, as on the clock) on the
// day of t, in t's location: on the day the clocks change, 19:00 is still
// 19:00. 24:00 is the next midnight.
func at(t time.Time, off time.Duration) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, int(off/time.Hour), int(off%time.Hour/time.Minute), 0, 0, t.Location())
}

// nextStart is the first moment after the day of l on which r allows a
// start.
func (r *rule) nextStart(l time.Time) time.Time {
	for i := 1; i <= 7; i++ {
		d := at(l, 0).AddDate(0, 0, i) // AddDate keeps the wall clock
		if r.days[d.Weekday()] {
			return at(d, r.from)
		}
	}
	return time.Time{} // no weekday at all: compile refuses that
}

// outsideHours is the refusal of a start or an extension, with the first
// moment a start is possible again.
func outsideHours(next time.Time, msg string) *apiError {
	n := next.UTC()
	return &apiError{status: http.StatusForbidden, body: api.Error{Code: api.CodeOutsideHours, Message: msg, AllowedFrom: &n}}
}

// authorisationEnd decides how long an authorisation given at now lasts
// for a user in groups, whose device is authorised until current (zero or
// past: not authorised). extend lengthens one that holds; otherwise it is
// the day's start, which never shortens one that holds. It refuses with
// outside_hours when the rules allow no home office now, or no more time
// today.
func (s *Server) authorisationEnd(groups []string, current, now time.Time, extend bool) (time.Time, error) {
	holds := now.Before(current)
	end, err := s.ruleEnd(ruleFor(s.rules, groups), current, now, extend && holds)
	if err != nil && holds && !extend {
		return current, nil // a restarted client starts again: keep the day's
	}
	if err == nil && holds && !extend && end.Before(current) {
		end = current
	}
	return end, err
}

func (s *Server) ruleEnd(r *rule, current, now time.Time, extend bool) (time.Time, error) {
	l := now.In(s.cfg.Location)
	if r == nil {
		if extend {
			return current.Add(s.cfg.MinSession).UTC().Truncate(time.Second), nil
		}
		return s.sessionEnd(now), nil
	}
	latest := time.Time{}
	if r.latest != 0 {
		latest = at(l, r.latest)
	}
	if extend {
		end := current.In(s.cfg.Location).Add(r.extendBy)
		if !latest.IsZero() && end.After(latest) {
			end = latest
		}
		if !end.After(current) {
			return time.Time{}, outsideHours(r.nextStart(l), "the authorisation already lasts until the latest end of today")
		}
		return end.UTC().Truncate(time.Second), nil
	}
	switch {
	case !r.days[l.Weekday()]:
		return time.Time{}, outsideHours(r.nextStart(l), "no home office on this weekday")
	case l.Before(at(l, r.from)):
		return time.Time{}, outsideHours(at(l, r.from), "home office starts later today")
	case !latest.IsZero() && !l.Before(latest):
		return time.Time{}, outsideHours(r.nextStart(l), "home office is over for today")
	}
	end := at(l, r.end)
	if end.Sub(l) < s.cfg.MinSession {
		end = l.Add(s.cfg.MinSession)
	}
	if !latest.IsZero() && end.After(latest) {
		end = latest
	}
	return end.UTC().Truncate(time.Second), nil
}

// hoursAhead is how far ahead a session answer lists the times a start
// is possible: a week and a day, so a device that asks daily always knows
// the next working day.
const hoursAhead = 8 * 24 * time.Hour

// weekdayOrder spells the weekdays of a rule for clients, Monday first.
var weekdayOrder = []struct {
	day  time.Weekday
	name string
}{{time.Monday, "mo"}, {time.Tuesday, "di"}, {time.Wednesday, "mi"}, {time.Thursday, "do"}, {time.Friday, "fr"}, {time.Saturday, "sa"}, {time.Sunday, "so"}}

// hoursFor tells a device of a user in groups when a start is possible
// (the same rule ruleEnd applies, from now to hoursAhead); nil when no
// rule limits the user.
func (s *Server) hoursFor(groups []string, now time.Time) *api.Hours {
	r := ruleFor(s.rules, groups)
	if r == nil {
		return nil
	}
	l := now.In(s.cfg.Location)
	through := l.Add(hoursAhead)
	out := &api.Hours{Starts: []api.Period{}, Through: through.UTC(), From: hhmm(r.from), Until: hhmm(24 * time.Hour)}
	if r.latest != 0 {
		out.Until = hhmm(r.latest)
	}
	for _, w := range weekdayOrder {
		if r.days[w.day] {
			out.Weekdays = append(out.Weekdays, w.name)
		}
	}
	// AddDate keeps the wall clock, so each day's times are right on the
	// days the clocks change.
	for day := at(l, 0); day.Before(through); day = day.AddDate(0, 0, 1) {
		if !r.days[day.Weekday()] {
			continue
		}
		p := api.Period{From: at(day, r.from).UTC(), Until: at(day, 24*time.Hour).UTC()}
		if r.latest != 0 {
			p.Until = at(day, r.latest).UTC()
		}
		if through.Before(p.Until) {
			p.Until = through.UTC()
		}
		if !p.Until.After(now) || !p.Until.After(p.From) {
			continue
		}
		if n := len(out.Starts); n > 0 && !out.Starts[n-1].Until.Before(p.From) {
			out.Starts[n-1].Until = p.Until // 24:00 runs into 00:00
			continue
		}
		out.Starts = append(out.Starts, p)
	}
	return out
}

func hhmm(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
