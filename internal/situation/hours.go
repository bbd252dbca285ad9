package situation

import (
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/state"
)

// OutsideHours: the portal's working hours allow no start now, and IT's
// policy (start_outside_office_hours off) wants the start not offered
// then. With the policy on (the default) the start stays offered and the
// portal's refusal explains.
const OutsideHours = "outside_hours"

// Message keys of the working-hours verdict. The advice names the rule
// ({{.DaysDE}} or {{.DaysEN}}, {{.From}}, {{.Until}}) and when home
// office is possible again ({{.Time}}, and {{.WeekdayDE}}/{{.WeekdayEN}},
// {{.Date}} on another day).
const (
	KeyOutsideHoursHeadline    = "verdict.outside_hours.headline"
	KeyOutsideHoursAdviceToday = "verdict.outside_hours.advice_today"
	KeyOutsideHoursAdviceLater = "verdict.outside_hours.advice_later"
	KeyOutsideHoursAdvice      = "verdict.outside_hours.advice"
	// KeyStartOutsideHours is the refusal of a start outside the hours
	// by the agent, for the command line and the local API.
	KeyStartOutsideHours = "start.outside_hours"
)

func hoursKeys() []string {
	return []string{KeyOutsideHoursHeadline, KeyOutsideHoursAdviceToday, KeyOutsideHoursAdviceLater, KeyOutsideHoursAdvice, KeyStartOutsideHours}
}

// hoursHideStart reports whether the working hours keep home office
// from being offered: outside them, with the policy against it.
func hoursHideStart(s state.Snapshot) bool {
	return s.Hours.Outside && !StartOutsideHoursAllowed(s)
}

// StartOutsideHoursAllowed is policy start_outside_office_hours as the
// snapshot's settings carry it; on (the default) when they do not list it.
func StartOutsideHoursAllowed(s state.Snapshot) bool {
	e, ok := s.Settings.Get(policy.KeyStartOutsideHours)
	return !ok || e.Value != false
}

// outsideHoursVerdict says that home office waits for the working hours,
// and when it is possible again.
func outsideHoursVerdict(s state.Snapshot, loc *time.Location) state.Verdict {
	h := s.Hours
	args := map[string]string{"DaysDE": daysText(h.Weekdays, "de"), "DaysEN": daysText(h.Weekdays, "en"), "From": h.From, "Until": h.Until}
	advice := state.Message{Key: KeyOutsideHoursAdvice, Args: args}
	if !h.NextStart.IsZero() {
		if loc == nil {
			loc = time.Local
		}
		next := h.NextStart.In(loc)
		args["Time"] = next.Format("15:04")
		advice.Key = KeyOutsideHoursAdviceToday
		if !h.NextToday {
			// The weekday too: "am 24.11.2026" alone makes people count.
			args["Date"] = next.Format("02.01.2006")
			args["WeekdayDE"] = weekdayLong["de"][next.Weekday()]
			args["WeekdayEN"] = weekdayLong["en"][next.Weekday()]
			advice.Key = KeyOutsideHoursAdviceLater
		}
	}
	return state.Verdict{Situation: OutsideHours, Icon: state.NotConnected,
		Headline: state.Message{Key: KeyOutsideHoursHeadline},
		Advice:   advice,
		Start:    state.StartDisabled}
}

// weekdayLong are the weekdays' full names, Sunday first (time.Weekday).
var weekdayLong = map[string][7]string{
	"de": {"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
	"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
}

// weekdayNames are the short names of the days in the portal's order.
var weekdayNames = map[string][7]string{
	"de": {"Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"},
	"en": {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"},
}

var weekdayIndex = map[string]int{"mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5, "so": 6}

// daysText names the weekdays ("mo" … "so") as people write them: runs
// of three or more as "Mo–Fr", the rest listed ("Mo–Mi, Fr"); every day
// as "täglich".
func daysText(days []string, lang string) string {
	var on [7]bool
	n := 0
	for _, d := range days {
		if i, ok := weekdayIndex[d]; ok && !on[i] {
			on[i] = true
			n++
		}
	}
	if n == 7 {
		if lang == "de" {
			return "täglich"
		}
		return "daily"
	}
	names := weekdayNames[lang]
	var parts []string
	for i := 0; i < 7; {
		if !on[i] {
			i++
			continue
		}
		j := i
		for j+1 < 7 && on[j+1] {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, names[i]+"–"+names[j])
		case j > i:
			parts = append(parts, names[i], names[j])
		default:
			parts = append(parts, names[i])
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
