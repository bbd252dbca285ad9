package portal

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
)

func TestExplain(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 23, 8, 0, 10, 0, time.UTC) // 09:00:10 in berlin
	for _, tc := range []struct {
		name string
		err  error
		key  string
		args map[string]string
	}{
		{"not_a_portal_error", errors.New("boom"), KeyUnexpected, nil},
		{"wrapped", fmt.Errorf("authorising: %w", &Error{Kind: KindCodeReused, AttemptsLeft: -1}), KeyCodeReused, nil},
		{"invalid_login", &Error{Kind: KindInvalidLogin, AttemptsLeft: -1}, KeyInvalidLogin, nil},
		{"invalid_login_attempts", &Error{Kind: KindInvalidLogin, AttemptsLeft: 2}, KeyInvalidLoginAttempts, map[string]string{"Attempts": "2"}},
		{"wrong_code", &Error{Kind: KindWrongCode, AttemptsLeft: -1}, KeyWrongCode, nil},
		{"wrong_code_last_attempt", &Error{Kind: KindWrongCode, AttemptsLeft: 0}, KeyWrongCodeAttempts, map[string]string{"Attempts": "0"}},
		{"wrong_code_clock_within", &Error{Kind: KindWrongCode, AttemptsLeft: 3, ClockOffset: authcode.MaxClockSkew}, KeyWrongCodeAttempts, map[string]string{"Attempts": "3"}},
		{"wrong_code_clock_ahead", &Error{Kind: KindWrongCode, AttemptsLeft: 3, ClockOffset: authcode.MaxClockSkew + time.Second}, KeyWrongCodeClockAttempts, map[string]string{"Attempts": "3"}},
		{"wrong_code_clock_behind", &Error{Kind: KindWrongCode, AttemptsLeft: -1, ClockOffset: -2 * time.Minute}, KeyWrongCodeClock, nil},
		{"locked_until", &Error{Kind: KindLocked, LockedUntil: now.Add(5 * time.Minute)}, KeyLockedUntil, map[string]string{"Time": "09:06"}},
		{"locked_on_the_minute", &Error{Kind: KindLocked, LockedUntil: now.Add(4*time.Minute + 50*time.Second)}, KeyLockedUntil, map[string]string{"Time": "09:05"}},
		{"locked_retry_after", &Error{Kind: KindLocked, RetryAfter: 90 * time.Second}, KeyLockedUntil, map[string]string{"Time": "09:02"}},
		{"locked_unknown_end", &Error{Kind: KindLocked}, KeyLocked, nil},
		{"activation_expired", &Error{Kind: KindActivationExpired}, KeyActivationExpired, nil},
		{"activation_used", &Error{Kind: KindActivationUsed}, KeyActivationUsed, nil},
		{"enrollment_expired", &Error{Kind: KindEnrollmentExpired}, KeyEnrollmentExpired, nil},
		{"device_unauthorised", &Error{Kind: KindDeviceUnauthorised}, KeyDeviceUnauthorised, nil},
		{"overloaded", &Error{Kind: KindOverloaded, RetryAfter: time.Minute}, KeyBusy, nil},
		{"unreachable", &Error{Kind: KindUnreachable}, KeyUnreachable, nil},
		{"certificate", &Error{Kind: KindCertificate}, KeyCertificate, nil},
		{"clock", &Error{Kind: KindClock}, KeyClock, nil},
		{"server", &Error{Kind: KindServer}, KeyFailed, nil},
		{"protocol", &Error{Kind: KindProtocol}, KeyFailed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := Explain(tc.err, now, berlin)
			if m.Key != tc.key || fmt.Sprint(m.Args) != fmt.Sprint(tc.args) {
				t.Errorf("Explain = %s %v, want %s %v", m.Key, m.Args, tc.key, tc.args)
			}
		})
	}
}

// A per-source limit is not the employee's typing: the text says so and
// when to try again, rounded up to the minute.
func TestExplainRateLimited(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 5, 50, 0, time.UTC)
	m := Explain(&Error{Kind: KindRateLimited, RetryAfter: 15 * time.Second, AttemptsLeft: -1}, now, time.UTC)
	if m.Key != KeyRateLimitedUntil || m.Args["Time"] != "09:07" {
		t.Errorf("Explain(rate limited) = %+v, want %s at 09:07", m, KeyRateLimitedUntil)
	}
}
