package portal_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// TestWorkingHours: the portal's rules decide when a group may start home
// office and how long it lasts; a second code extends, up to the latest
// end; a start outside the hours is refused with when it is possible, and
// the client explains it in the employee's words.
func TestWorkingHours(t *testing.T) {
	t.Parallel()
	// Monday 30 November 2026, 05:30 in the organisation's zone (UTC).
	monday := time.Date(2026, 11, 30, 5, 30, 0, 0, time.UTC)
	env := portaltest.Start(t, portaltest.Options{
		Clock: portaltest.NewClock(monday),
		Config: portalsrv.Config{Hours: &portalsrv.Hours{Rules: []portalsrv.HoursRule{
			{Groups: []string{"bauamt"}, Weekdays: []string{"mo", "di", "mi", "do", "fr"}, From: "06:00", End: "19:00", Latest: "21:00", ExtendMinutes: 60},
		}}},
	})
	ctx := context.Background()
	act := env.AddUser(t, "bernd.meier", "Bernd Meier", "bauamt")
	c := env.Client(t, nil)
	en, err := c.StartEnrollment(ctx, "bernd.meier", act)
	if err != nil {
		t.Fatalf("StartEnrollment: %v", err)
	}
	if _, err := c.ConfirmEnrollment(ctx, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now())); err != nil {
		t.Fatalf("ConfirmEnrollment: %v", err)
	}
	reg, err := c.RegisterDevice(ctx, en.EnrollmentID, portaltest.NewWGKey(), "laptop")
	if err != nil {
		t.Fatalf("RegisterDevice: %v", err)
	}
	if reg.AuthorisedUntil != nil {
		t.Errorf("registration before 06:00 admitted the device until %v; the working hours do not allow it", reg.AuthorisedUntil)
	}
	code := func() string {
		env.Clock.Advance(authcode.Period) // each code from a new step
		return authcodetest.Code(t, en.Secret, env.Clock.Now())
	}
	refused := func(err error, wantFrom time.Time, wantKey string) {
		t.Helper()
		var pe *portal.Error
		if !errors.Is(err, portal.ErrOutsideHours) || !errors.As(err, &pe) {
			t.Fatalf("err = %v, want outside_hours", err)
		}
		if !pe.AllowedFrom.Equal(wantFrom) {
			t.Errorf("AllowedFrom = %v, want %v", pe.AllowedFrom, wantFrom)
		}
		m := portal.Explain(err, env.Clock.Now(), time.UTC)
		if m.Key != wantKey || m.Args["Time"] != "06:00" {
			t.Errorf("Explain = %+v, want %s with Time 06:00", m, wantKey)
		}
	}

	// Before 06:00: refused, "today from 06:00".
	_, err = c.AuthoriseSession(ctx, code())
	refused(err, time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC), portal.KeyOutsideHoursToday)

	// 18:30: the end is two hours on, within the latest end.
	env.Clock.Set(time.Date(2026, 11, 30, 18, 29, 30, 0, time.UTC))
	s, err := c.AuthoriseSession(ctx, code())
	if err != nil || !s.Authorised || !s.Until.Equal(time.Date(2026, 11, 30, 20, 30, 0, 0, time.UTC)) {
		t.Fatalf("AuthoriseSession at 18:30 = %+v, %v; want until 20:30", s, err)
	}
	// A start again (a restarted client) is no extension: two hours
	// from now, as a start, and never less than the day's end.
	if s, err := c.AuthoriseSession(ctx, code()); err != nil || !s.Until.Equal(time.Date(2026, 11, 30, 20, 30, 30, 0, time.UTC)) {
		t.Errorf("second start = %+v, %v; want until 20:30:30", s, err)
	}
	// Extending adds an hour, but never past 21:00.
	s, err = c.ExtendSession(ctx, code())
	if err != nil || !s.Until.Equal(time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)) {
		t.Fatalf("ExtendSession = %+v, %v; want until 21:00", s, err)
	}
	_, err = c.ExtendSession(ctx, code())
	refused(err, time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), portal.KeyOutsideHoursLater)
	if m := portal.Explain(err, env.Clock.Now(), time.UTC); m.Args["Date"] != "01.12.2026" {
		t.Errorf("Explain of the next day = %+v, want Date 01.12.2026", m)
	}

	// Saturday: the next start is on Monday.
	env.Clock.Set(time.Date(2026, 12, 5, 9, 59, 30, 0, time.UTC))
	_, err = c.AuthoriseSession(ctx, code())
	refused(err, time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC), portal.KeyOutsideHoursLater)

	// The session answer tells the device the same, before any code.
	st, err := c.SessionStatus(ctx)
	if err != nil || st.Hours == nil {
		t.Fatalf("SessionStatus = %+v, %v; want the working hours", st, err)
	}
	if at := portal.HoursAt(st.Hours, env.Clock.Now()); !at.Known || at.Inside || !at.NextStart.Equal(time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("HoursAt(Saturday) = %+v, want outside until Monday 06:00", at)
	}
	if h := st.Hours; h.From != "06:00" || h.Until != "21:00" || len(h.Weekdays) != 5 {
		t.Errorf("rule = %v %s–%s, want mo–fr 06:00–21:00", h.Weekdays, h.From, h.Until)
	}
}

// TestExtendWithoutRules: without working-hours rules a code with extend
// adds two hours to the authorisation, and a start keeps it.
func TestExtendWithoutRules(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	c, secret, reg := enrolledReg(t, env, "anna.schmidt")
	if reg.AuthorisedUntil == nil {
		t.Fatal("registration right after confirmation should admit the device for today")
	}
	until := *reg.AuthorisedUntil
	s, err := c.ExtendSession(ctx, authcodetest.Code(t, secret, env.Clock.Now()))
	if err != nil || !s.Until.Equal(until.Add(2*time.Hour)) {
		t.Fatalf("ExtendSession = %+v, %v; want until %v", s, err, until.Add(2*time.Hour))
	}
	if s.Hours != nil {
		t.Errorf("Hours = %+v without rules, want none", s.Hours)
	}
}

// HoursAt reads the portal's periods: inside one, between them (the next
// start), past what the portal told, and without hours (no rule, or a
// portal before issue 17, whose answer has no "hours").
func TestHoursAt(t *testing.T) {
	t.Parallel()
	at := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, time.UTC) }
	h := &portal.Hours{
		Starts:  []api.Period{{From: at(4, 5), Until: at(4, 20)}, {From: at(7, 5), Until: at(7, 20)}},
		Through: at(12, 0),
	}
	var old portal.Session
	if err := json.Unmarshal([]byte(`{"authorised":false,"server_time":"2026-12-05T10:00:00Z"}`), &old); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		hours *portal.Hours
		now   time.Time
		want  portal.HoursNow
	}{
		{"inside", h, at(4, 10), portal.HoursNow{Known: true, Inside: true}},
		{"at_the_start", h, at(4, 5), portal.HoursNow{Known: true, Inside: true}},
		{"at_the_end", h, at(4, 20), portal.HoursNow{Known: true, NextStart: at(7, 5)}},
		{"weekend", h, at(5, 10), portal.HoursNow{Known: true, NextStart: at(7, 5)}},
		{"after_the_last", h, at(8, 10), portal.HoursNow{Known: true}},
		{"past_through", h, at(12, 0), portal.HoursNow{}},
		{"older_portal", old.Hours, at(5, 10), portal.HoursNow{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := portal.HoursAt(tc.hours, tc.now); got != tc.want {
				t.Errorf("HoursAt = %+v, want %+v", got, tc.want)
			}
		})
	}
}
