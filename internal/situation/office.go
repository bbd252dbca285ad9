package situation

import "github.com/dienstweg/dienstweg/internal/state"

// InOffice: the in-office check reached the office's own host outside
// the tunnel; home office is not needed and not offered (unless IT
// allows it, allow_start_in_office).
const InOffice = "in_office"

// Message keys of the office verdicts.
const (
	KeyInOfficeHeadline = "verdict.in_office.headline"
	KeyInOfficeAdvice   = "verdict.in_office.advice"
	// KeyInOfficeSessionAdvice is the advice while a session still runs
	// in the office: it is not ended behind the person's back (programs
	// may be saving to a network drive through it), only called
	// unnecessary, with "Homeoffice beenden" beside it.
	KeyInOfficeSessionAdvice = "verdict.in_office_session.advice"
	// KeyStartInOffice is the refusal of a session start in the office,
	// by the agent for the command line and the local API.
	KeyStartInOffice = "start.in_office"
)

// officeKeys are the keys of this file, for TranslationKeys.
func officeKeys() []string {
	return []string{KeyInOfficeHeadline, KeyInOfficeAdvice, KeyInOfficeSessionAdvice, KeyStartInOffice}
}

// officeHidesStart reports whether the office check keeps home office
// from being offered.
func officeHidesStart(o state.Office) bool { return o.InOffice && !o.StartAllowed }

// inOfficeVerdict is what a computer in the office is told while no
// session runs: not connected, nothing to do.
func inOfficeVerdict() state.Verdict {
	return state.Verdict{Situation: InOffice, Icon: state.NotConnected,
		Headline: state.Message{Key: KeyInOfficeHeadline},
		Advice:   state.Message{Key: KeyInOfficeAdvice},
		Start:    state.StartHidden}
}
