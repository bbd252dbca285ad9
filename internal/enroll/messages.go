package enroll

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/keyring"
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
