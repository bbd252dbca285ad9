package portalsrv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
