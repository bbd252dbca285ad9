package portalsrv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// A rules file the portal cannot follow stops it with the rule named; a
// good one loads.
func TestLoadHours(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json, wantErr string
	}{
		{"good", `{"rules":[{"groups":["bauamt"],"weekdays":["mo","Fri"],"from":"06:00","end":"19:00","latest":"24:00"}]}`, ""},
		{"no_groups", `{"rules":[{"end":"19:00"}]}`, "rule 1: names no groups"},
		{"bad_day", `{"rules":[{"groups":["*"],"weekdays":["montag"],"end":"19:00"}]}`, `"montag" is no weekday`},
		{"bad_time", `{"rules":[{"groups":["*"],"end":"7pm"}]}`, `end: "7pm" is no time of day`},
		{"end_before_from", `{"rules":[{"groups":["*"],"from":"08:00","end":"07:00"}]}`, "is not after from"},
		{"latest_before_end", `{"rules":[{"groups":["*"],"end":"19:00","latest":"18:00"}]}`, "is before end"},
		{"unknown_field", `{"rules":[{"groups":["*"],"end":"19:00","until":"20:00"}]}`, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "hours.json")
			if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadHours(path)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("LoadHours = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// The rules in the organisation's zone, on a day the clocks change.
func TestAuthorisationEndAcrossDST(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("no tzdata: %v", err)
	}
	cfg := Config{Location: berlin, Hours: &Hours{Rules: []HoursRule{{Groups: []string{"*"}, From: "06:00", End: "19:00", Latest: "21:00"}}}}
	cfg.setDefaults()
	rules, err := cfg.Hours.compile()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: cfg, rules: rules}
	// Sunday 29 March 2026: 02:00 became 03:00.
	got, err := s.authorisationEnd(nil, time.Time{}, time.Date(2026, 3, 29, 8, 0, 0, 0, berlin), false)
	if want := time.Date(2026, 3, 29, 19, 0, 0, 0, berlin); err != nil || !got.Equal(want) {
		t.Errorf("end = %v, %v; want %v", got, err, want)
	}
	_, err = s.authorisationEnd(nil, time.Time{}, time.Date(2026, 3, 29, 5, 0, 0, 0, berlin), false)
	if ae, ok := err.(*apiError); !ok || !ae.body.AllowedFrom.Equal(time.Date(2026, 3, 29, 6, 0, 0, 0, berlin)) {
		t.Errorf("before from: %v, want allowed from 06:00", err)
	}
}

// What the session answers tell a device about its user's working hours:
// the periods a start is possible, worked out in the organisation's zone
// across the change to summer time, in agreement with the refusal; every
// day from 00:00 to 24:00 is one period; no rule tells nothing.
func TestHoursForAcrossDST(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("no tzdata: %v", err)
	}
	cfg := Config{Location: berlin, Hours: &Hours{Rules: []HoursRule{
		{Groups: []string{"bauamt"}, Weekdays: []string{"mo", "di", "mi", "do", "fr"}, From: "06:00", End: "19:00", Latest: "21:00"},
		{Groups: []string{"it"}, From: "00:00", End: "24:00"},
	}}}
	cfg.setDefaults()
	rules, err := cfg.Hours.compile()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: cfg, rules: rules}
	utc := func(mo time.Month, d, h int) time.Time { return time.Date(2026, mo, d, h, 0, 0, 0, time.UTC) }

	// Friday 27 March 2026, 22:00 CET; on Sunday the clocks go forward.
	now := time.Date(2026, 3, 27, 22, 0, 0, 0, berlin)
	h := s.hoursFor([]string{"bauamt"}, now)
	if h == nil {
		t.Fatal("hoursFor(bauamt) = nil, want the rule")
	}
	want := []api.Period{
		{From: utc(3, 30, 4), Until: utc(3, 30, 19)}, // Monday, summer time: 06:00–21:00 is 04:00–19:00 UTC
		{From: utc(3, 31, 4), Until: utc(3, 31, 19)},
		{From: utc(4, 1, 4), Until: utc(4, 1, 19)},
		{From: utc(4, 2, 4), Until: utc(4, 2, 19)},
		{From: utc(4, 3, 4), Until: utc(4, 3, 19)},
	}
	if !slices.Equal(h.Starts, want) || !h.Through.Equal(now.Add(hoursAhead)) {
		t.Errorf("Starts = %v through %v\nwant %v through %v", h.Starts, h.Through, want, now.Add(hoursAhead))
	}
	if !slices.Equal(h.Weekdays, []string{"mo", "di", "mi", "do", "fr"}) || h.From != "06:00" || h.Until != "21:00" {
		t.Errorf("rule = %v %s–%s", h.Weekdays, h.From, h.Until)
	}
	// The first period is the refusal's allowed_from.
	_, err = s.authorisationEnd([]string{"bauamt"}, time.Time{}, now, false)
	if ae, ok := err.(*apiError); !ok || !ae.body.AllowedFrom.Equal(h.Starts[0].From) {
		t.Errorf("refusal = %v, want allowed from %v", err, h.Starts[0].From)
	}

	// Friday 10:00 (winter time): the period under way comes first.
	h = s.hoursFor([]string{"bauamt"}, time.Date(2026, 3, 27, 10, 0, 0, 0, berlin))
	if got := h.Starts[0]; got != (api.Period{From: utc(3, 27, 5), Until: utc(3, 27, 20)}) {
		t.Errorf("Friday's period = %v, want 05:00–20:00 UTC", got)
	}

	// Around the clock: one period up to the end of what is told.
	now = time.Date(2026, 3, 28, 12, 0, 0, 0, berlin)
	h = s.hoursFor([]string{"it"}, now)
	if want := []api.Period{{From: time.Date(2026, 3, 28, 0, 0, 0, 0, berlin).UTC(), Until: now.Add(hoursAhead).UTC()}}; !slices.Equal(h.Starts, want) || h.Until != "24:00" || len(h.Weekdays) != 7 {
		t.Errorf("it: %+v, want %v", h, want)
	}

	if h := s.hoursFor([]string{"buergerbuero"}, now); h != nil {
		t.Errorf("no rule: %+v, want nil", h)
	}
}
