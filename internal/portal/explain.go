package portal

import (
	"errors"
	"strconv"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Message keys of Explain, translated in assets/translations.
const (
	KeyInvalidLogin           = "portal.error.invalid_login"
	KeyInvalidLoginAttempts   = "portal.error.invalid_login_attempts" // {{.Attempts}}
	KeyActivationExpired      = "portal.error.activation_expired"
	KeyActivationUsed         = "portal.error.activation_used"
	KeyEnrollmentExpired      = "portal.error.enrollment_expired"
	KeyWrongCode              = "portal.error.wrong_code"
	KeyWrongCodeAttempts      = "portal.error.wrong_code_attempts" // {{.Attempts}}
	KeyWrongCodeClock         = "portal.error.wrong_code_clock"
	KeyWrongCodeClockAttempts = "portal.error.wrong_code_clock_attempts" // {{.Attempts}}
	KeyCodeReused             = "portal.error.code_reused"
	KeyLocked                 = "portal.error.locked"
	KeyLockedUntil            = "portal.error.locked_until"       // {{.Time}}
	KeyRateLimitedUntil       = "portal.error.rate_limited_until" // {{.Time}}
	KeyDeviceUnauthorised     = "portal.error.device_unauthorised"
	KeyUserDisabled           = "portal.error.user_disabled"
	KeyBusy                   = "portal.error.busy"
	KeyUnreachable            = "portal.error.unreachable"
	KeyCertificate            = "portal.error.certificate"
	KeyClock                  = "portal.error.clock"
	KeyFailed                 = "portal.error.failed"
	KeyUnexpected             = "portal.error.unexpected"
	KeyOutsideHoursToday      = "portal.error.outside_hours_today" // {{.Time}}
	KeyOutsideHoursLater      = "portal.error.outside_hours_later" // {{.Date}} {{.Time}}
	KeyOutsideHours           = "portal.error.outside_hours"
)

// Explain turns a failed portal call into what the employee reads. It is
// the one mapping from portal errors to text: the session and the setup
// wizard add only cases of their own. now and loc place the end of a lock
// on the employee's clock; nil loc means time.Local.
//
// Wrong user name and wrong activation code stay one message, as the
// portal does not tell them apart (so nobody can probe for user names).
func Explain(err error, now time.Time, loc *time.Location) *state.Message {
	var e *Error
	if !errors.As(err, &e) {
		return &state.Message{Key: KeyUnexpected}
	}
	switch e.Kind {
	case KindInvalidLogin:
		return withAttempts(e, KeyInvalidLogin, KeyInvalidLoginAttempts)
	case KindActivationExpired:
		return &state.Message{Key: KeyActivationExpired}
	case KindActivationUsed:
		return &state.Message{Key: KeyActivationUsed}
	case KindEnrollmentExpired:
		return &state.Message{Key: KeyEnrollmentExpired}
	case KindWrongCode:
		// The portal's Date header says the computer's clock is off far
		// enough to make right codes fail: say that, not "wrong".
		if e.ClockOffset > authcode.MaxClockSkew || e.ClockOffset < -authcode.MaxClockSkew {
			return withAttempts(e, KeyWrongCodeClock, KeyWrongCodeClockAttempts)
		}
		return withAttempts(e, KeyWrongCode, KeyWrongCodeAttempts)
	case KindCodeReused:
		return &state.Message{Key: KeyCodeReused}
	case KindLocked:
		return lockedMessage(e, now, loc)
	case KindRateLimited:
		// Not the employee's typing: others on the same network (or an
		// attack from it) used up the attempts.
		return &state.Message{Key: KeyRateLimitedUntil, Args: map[string]string{"Time": MinuteAfter(now.Add(max(e.RetryAfter, time.Second)), loc)}}
	case KindDeviceUnauthorised:
		return &state.Message{Key: KeyDeviceUnauthorised}
	case KindUserDisabled:
		return &state.Message{Key: KeyUserDisabled}
	case KindOverloaded:
		return &state.Message{Key: KeyBusy}
	case KindUnreachable:
		return &state.Message{Key: KeyUnreachable}
	case KindCertificate:
		return &state.Message{Key: KeyCertificate}
	case KindClock:
		return &state.Message{Key: KeyClock}
	case KindOutsideHours:
		return outsideHoursMessage(e.AllowedFrom, now, loc)
	default:
		return &state.Message{Key: KeyFailed}
	}
}

func withAttempts(e *Error, key, withCount string) *state.Message {
	if e.AttemptsLeft < 0 {
		return &state.Message{Key: key}
	}
	return &state.Message{Key: withCount, Args: map[string]string{"Attempts": strconv.Itoa(e.AttemptsLeft)}}
}

// lockedMessage names the time the lock ends: unlike "in 5 minutes" it
// stays right while the message is shown.
func lockedMessage(e *Error, now time.Time, loc *time.Location) *state.Message {
	until := LockedUntil(e, now)
	if until.IsZero() {
		return &state.Message{Key: KeyLocked}
	}
	return &state.Message{Key: KeyLockedUntil, Args: map[string]string{"Time": MinuteAfter(until, loc)}}
}

// LockedUntil is when the lock that err reports ends: the portal's
// time, else now plus its Retry-After; zero when err is no lock or names
// no end.
func LockedUntil(err error, now time.Time) time.Time {
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindLocked {
		return time.Time{}
	}
	if e.LockedUntil.IsZero() && e.RetryAfter > 0 {
		return now.Add(e.RetryAfter)
	}
	return e.LockedUntil
}

// MinuteAfter is t as "15:04", rounded up, so "try again at 9:06" is
// never a minute too early. nil loc means time.Local.
func MinuteAfter(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	t = t.In(loc)
	if t.Second() > 0 || t.Nanosecond() > 0 {
		t = t.Truncate(time.Minute).Add(time.Minute)
	}
	return t.Format("15:04")
}

// outsideHoursMessage names when home office is possible again: "today
// from 6:00", or the date and time of a later day.
func outsideHoursMessage(from, now time.Time, loc *time.Location) *state.Message {
	if from.IsZero() {
		return &state.Message{Key: KeyOutsideHours}
	}
	if loc == nil {
		loc = time.Local
	}
	f, n := from.In(loc), now.In(loc)
	clock := f.Format("15:04")
	fy, fm, fd := f.Date()
	if ny, nm, nd := n.Date(); fy == ny && fm == nm && fd == nd {
		return &state.Message{Key: KeyOutsideHoursToday, Args: map[string]string{"Time": clock}}
	}
	return &state.Message{Key: KeyOutsideHoursLater, Args: map[string]string{"Date": f.Format("02.01.2006"), "Time": clock}}
}
