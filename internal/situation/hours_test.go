package situation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Outside the working hours the start is greyed out, with when home
// office is possible again, only where IT's policy says so
// (start_outside_office_hours off); inside them, when they are not known,
// or with the policy on (the default) the start is offered as ever, and
// a running session is left alone.
func TestJudgeOutsideHours(t *testing.T) {
	t.Parallel()
	de, err := i18n.Load(assets.Translations, assets.TranslationsDir, i18n.German)
	if err != nil {
		t.Fatalf("i18n.Load: %v", err)
	}
	en, err := i18n.Load(assets.Translations, assets.TranslationsDir, i18n.English)
	if err != nil {
		t.Fatalf("i18n.Load: %v", err)
	}
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	policyOff := state.Settings{List: []state.Setting{{Key: policy.KeyStartOutsideHours, Value: false, Source: "policy", Locked: true}}}
	policyOn := state.Settings{List: []state.Setting{{Key: policy.KeyStartOutsideHours, Value: true, Source: "default"}}}
	workdays := []string{"mo", "di", "mi", "do", "fr"}
	monday6 := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	outsideToday := state.Hours{Asked: true, Outside: true, NextStart: monday6, NextToday: true, Weekdays: workdays, From: "06:00", Until: "21:00"}
	outsideLater := outsideToday
	outsideLater.NextToday = false
	outsideNoNext := outsideToday
	outsideNoNext.NextStart = time.Time{}
	inside := state.Hours{Asked: true, Weekdays: workdays, From: "06:00", Until: "21:00"}
	days := func(d ...string) state.Hours {
		h := outsideToday
		h.Weekdays = d
		return h
	}
	tests := []struct {
		name      string
		snap      state.Snapshot
		situation string
		start     state.StartAction
		advice    string // German
		adviceEN  string
	}{
		{"outside_policy_off_today", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: outsideToday}, situation.OutsideHours, state.StartDisabled,
			"Ihre Arbeitszeit für Homeoffice: Mo–Fr 06:00–21:00 Uhr. Homeoffice ist heute ab 06:00 Uhr wieder möglich.",
			"Your working hours for home office: Mon–Fri 06:00–21:00. Home office is possible again today from 06:00."},
		{"outside_policy_off_later", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: outsideLater}, situation.OutsideHours, state.StartDisabled,
			"Homeoffice ist am Montag, 07.12.2026 ab 06:00 Uhr wieder möglich.", "possible again on Monday, 07.12.2026 from 06:00."},
		{"outside_policy_off_next_unknown", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: outsideNoNext}, situation.OutsideHours, state.StartDisabled,
			"Mo–Fr 06:00–21:00 Uhr. Jetzt ist Homeoffice nicht möglich.", "Home office is not possible now."},
		{"outside_expired", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: outsideLater, Session: state.CodeNeeded, Authorisation: state.Authorisation{Expired: true}},
			situation.OutsideHours, state.StartDisabled, "wieder möglich", ""},
		{"some_days", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: days("mo", "mi", "fr")}, situation.OutsideHours, state.StartDisabled, "Mo, Mi, Fr 06:00", "Mon, Wed, Fri 06:00"},
		{"runs_and_days", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: days("mo", "di", "mi", "fr", "sa")}, situation.OutsideHours, state.StartDisabled, "Mo–Mi, Fr, Sa 06:00", ""},
		{"every_day", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: days("mo", "di", "mi", "do", "fr", "sa", "so")}, situation.OutsideHours, state.StartDisabled, "täglich 06:00", "daily 06:00"},
		{"outside_policy_on", state.Snapshot{Enrollment: enrolled, Settings: policyOn, Hours: outsideToday}, "not_connected", state.StartCode, "„Homeoffice starten“", ""},
		{"outside_no_policy_listed", state.Snapshot{Enrollment: enrolled, Hours: outsideToday}, "not_connected", state.StartCode, "„Homeoffice starten“", ""},
		{"inside_policy_off", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: inside}, "not_connected", state.StartCode, "„Homeoffice starten“", ""},
		{"unknown_policy_off", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: state.Hours{Asked: true}}, "not_connected", state.StartCode, "„Homeoffice starten“", ""},
		{"session_runs_outside", state.Snapshot{Session: state.Connected, Enrollment: enrolled, Settings: policyOff, Hours: outsideToday}, "connected", state.StartHidden, "", ""},
		{"in_office_outside", state.Snapshot{Enrollment: enrolled, Settings: policyOff, Hours: outsideToday, Office: state.Office{InOffice: true}}, situation.InOffice, state.StartHidden, "Büronetz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := situation.Judge(tt.snap, time.UTC)
			if v.Situation != tt.situation || v.Start != tt.start {
				t.Fatalf("Judge = %s start %q, want %s start %q", v.Situation, v.Start, tt.situation, tt.start)
			}
			if got := de.T(v.Advice.Key, v.Advice.Args); !strings.Contains(got, tt.advice) || strings.Contains(got, "{{") || strings.Contains(got, "<no value>") {
				t.Errorf("advice = %q, want it to contain %q", got, tt.advice)
			}
			if got := en.T(v.Advice.Key, v.Advice.Args); !strings.Contains(got, tt.adviceEN) || strings.Contains(got, "<no value>") {
				t.Errorf("English advice = %q, want it to contain %q", got, tt.adviceEN)
			}
			if v.Situation == situation.OutsideHours {
				if got := de.T(v.Headline.Key, v.Headline.Args); got != "Außerhalb Ihrer Arbeitszeit" {
					t.Errorf("headline = %q", got)
				}
				if v.End || v.Extend {
					t.Errorf("outside the hours offers end %v extend %v", v.End, v.Extend)
				}
			}
		})
	}
}
