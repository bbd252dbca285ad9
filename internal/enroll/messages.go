package enroll

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

func msg(key string, kv ...string) *state.Message {
	m := &state.Message{Key: key}
	if len(kv) > 0 {
		m.Args = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m.Args[kv[i]] = kv[i+1]
		}
	}
	return m
}

// clockMessage explains an offset (portal time minus local time) beyond
// authcode.MaxClockSkew in minutes or hours, or returns nil if it is
// within: the wizard does not show the QR code then, since the
// confirmation would fail in a way nobody can explain.
//
//	enroll.clock.ahead_one_minute   enroll.clock.behind_one_minute
//	enroll.clock.ahead_minutes      enroll.clock.behind_minutes   {{.Minutes}}
//	enroll.clock.ahead_hours        enroll.clock.behind_hours     {{.Hours}}
func clockMessage(offset time.Duration) *state.Message {
	if offset <= authcode.MaxClockSkew && offset >= -authcode.MaxClockSkew {
		return nil
	}
	dir := "behind" // the portal is ahead of us: our clock is slow
	if offset < 0 {
		dir, offset = "ahead", -offset
	}
	mins := int(math.Round(offset.Minutes()))
	switch {
	case mins <= 1:
		return msg("enroll.clock." + dir + "_one_minute")
	case mins < 120:
		return msg("enroll.clock."+dir+"_minutes", "Minutes", strconv.Itoa(mins))
	default:
		return msg("enroll.clock."+dir+"_hours", "Hours", strconv.Itoa(int(math.Round(offset.Hours()))))
	}
}

// keyringMessage is the keyring page's explanation for err.
func keyringMessage(err error) *state.Message {
	if errors.Is(err, keyring.ErrLocked) {
		return msg("enroll.keyring.locked")
	}
	return msg("enroll.keyring.unavailable")
}

// portalMessage explains a failed portal call. Wrong user name and wrong
// activation code stay one message, as the portal does not tell them
// apart (so nobody can probe for user names).
func portalMessage(err error, now time.Time, loc *time.Location) *state.Message {
	var e *portal.Error
	if !errors.As(err, &e) {
		return msg("enroll.error.unexpected")
	}
	attempts := func(key string) *state.Message {
		if e.AttemptsLeft >= 0 {
			return msg(key+"_attempts", "Attempts", strconv.Itoa(e.AttemptsLeft))
		}
		return msg(key)
	}
	switch e.Kind {
	case portal.KindInvalidLogin:
		return attempts("enroll.error.invalid_login")
	case portal.KindActivationExpired:
		return msg("enroll.error.activation_expired")
	case portal.KindActivationUsed:
		return msg("enroll.error.activation_used")
	case portal.KindEnrollmentExpired:
		return msg("enroll.error.enrollment_expired")
	case portal.KindWrongCode:
		return attempts("enroll.error.wrong_code")
	case portal.KindCodeReused:
		return msg("enroll.error.code_reused")
	case portal.KindLocked:
		until := e.LockedUntil
		if until.IsZero() && e.RetryAfter > 0 {
			until = now.Add(e.RetryAfter)
		}
		if until.IsZero() {
			return msg("enroll.error.locked")
		}
		// Round up, so "try again at 9:06" is never a minute too early.
		t := until.In(loc)
		if t.Second() > 0 || t.Nanosecond() > 0 {
			t = t.Truncate(time.Minute).Add(time.Minute)
		}
		return msg("enroll.error.locked_until", "Time", t.Format("15:04"))
	case portal.KindOverloaded:
		return msg("enroll.error.busy")
	case portal.KindUnreachable:
		return msg("enroll.error.unreachable")
	case portal.KindCertificate:
		return msg("enroll.error.certificate")
	case portal.KindClock:
		return msg("enroll.error.clock")
	case portal.KindDeviceUnauthorised:
		return msg("enroll.error.device_unauthorised")
	default:
		return msg("enroll.error.portal")
	}
}
