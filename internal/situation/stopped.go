package situation

import "github.com/dienstweg/dienstweg/internal/state"

// KeyStartAgainAdvice is the advice of a Problem with no session
// running: a start failed, or the portal dropped this device. Nothing
// can be ended; the session's detail says what went wrong, and a new
// start is the way on.
const KeyStartAgainAdvice = "verdict.start_again.advice"

// startAgain is the verdict of a Problem after which nothing runs: the
// problem's headline and icon, and "Homeoffice starten" instead of
// "Beenden" (wire.Session.Active is the rule).
func startAgain(v state.Verdict, phone map[string]string) state.Verdict {
	v.Advice = state.Message{Key: KeyStartAgainAdvice, Args: phone}
	v.Start, v.End = state.StartCode, false
	return v
}
