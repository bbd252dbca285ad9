package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portal/api"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The decision from the portal's answer to the tray's offer, across the
// night the clocks go forward (Europe/Berlin, 29 March 2026): inside,
// outside (today, or another day), unknown (no answer, past what the
// portal told), each with policy start_outside_office_hours off and on.
func TestHoursDecision(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("no tzdata: %v", err)
	}
	de, err := i18n.Load(assets.Translations, assets.TranslationsDir, i18n.German)
	if err != nil {
		t.Fatal(err)
	}
	b := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, berlin) }
	// Mo–Fr 06:00–21:00 as the portal works it out on Friday 27 March
	// (its TestHoursForAcrossDST checks that side): Friday in winter
	// time, Monday in summer time.
	h := &portal.Hours{
		Starts: []api.Period{
			{From: b(3, 27, 6, 0), Until: b(3, 27, 21, 0)},
			{From: b(3, 30, 6, 0), Until: b(3, 30, 21, 0)},
			{From: b(3, 31, 6, 0), Until: b(3, 31, 21, 0)},
		},
		Through:  b(4, 1, 0, 0),
		Weekdays: []string{"mo", "di", "mi", "do", "fr"}, From: "06:00", Until: "21:00",
	}
	off := state.Settings{List: []state.Setting{{Key: "start_outside_office_hours", Value: false, Source: "policy", Locked: true}}}
	on := state.Settings{List: []state.Setting{{Key: "start_outside_office_hours", Value: true, Source: "default"}}}
	for _, tc := range []struct {
		name      string
		hours     *portal.Hours
		now       time.Time
		settings  state.Settings
		situation string
		advice    string
	}{
		{"inside_winter_time", h, b(3, 27, 20, 59), off, "not_connected", ""},
		{"friday_evening", h, b(3, 27, 21, 0), off, situation.OutsideHours, "am Montag, 30.03.2026 ab 06:00 Uhr"},
		// 01:59 is followed by 03:00; Monday 06:00 is still 06:00.
		{"night_of_the_change", h, b(3, 29, 1, 59), off, situation.OutsideHours, "am Montag, 30.03.2026 ab 06:00 Uhr"},
		{"after_the_change", h, b(3, 29, 3, 0), off, situation.OutsideHours, "am Montag, 30.03.2026 ab 06:00 Uhr"},
		{"monday_early", h, b(3, 30, 5, 59), off, situation.OutsideHours, "heute ab 06:00 Uhr"},
		{"inside_summer_time", h, b(3, 30, 6, 0), off, "not_connected", ""},
		{"outside_policy_on", h, b(3, 28, 12, 0), on, "not_connected", ""},
		{"past_what_the_portal_told", h, b(4, 1, 0, 0), off, "not_connected", ""},
		{"no_answer", nil, b(3, 28, 12, 0), off, "not_connected", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := state.Snapshot{Enrollment: state.Enrollment{Enrolled: true, Step: "done"}, Settings: tc.settings,
				Hours: hoursView(tc.hours, true, tc.now, berlin)}
			v := situation.Judge(s, berlin)
			if v.Situation != tc.situation {
				t.Fatalf("situation = %s, want %s (hours %+v)", v.Situation, tc.situation, s.Hours)
			}
			wantStart := state.StartCode
			if tc.situation == situation.OutsideHours {
				wantStart = state.StartDisabled
			}
			if v.Start != wantStart {
				t.Errorf("start = %q, want %q", v.Start, wantStart)
			}
			if advice := de.T(v.Advice.Key, v.Advice.Args); tc.advice != "" && !strings.Contains(advice, tc.advice) {
				t.Errorf("advice = %q, want %q in it", advice, tc.advice)
			}
		})
	}
}
