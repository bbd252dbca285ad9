// Package situation judges what the employee is told and offered: from
// one snapshot it derives the headline, the advice and which actions
// work, so that "what you can do now" never points at a button that
// cannot help (issue 15, #8). The agent's store runs Judge on every
// change (state.Store.SetDerive); the tray, the windows and the command
// line only render its Verdict.
package situation

import (
	"time"

	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Situation names, stable for scripts and tests. A session that runs is
// named by its state (connected, limited, ...).
const (
	NoProfile          = "no_profile"
	NotSetUp           = "not_set_up"
	KeyringLocked      = "keyring_locked"
	KeyringUnavailable = "keyring_unavailable"
	LockedOut          = "locked_out"
	Offline            = "offline"
	PortalDown         = "portal_down"
	// HelperMissing: the profile needs the system tunnel and the helper
	// does not answer (or refuses this user); starting cannot work.
	HelperMissing = "helper_missing"
)

// Message keys of the verdicts that the session's states do not have.
const (
	KeyNotSetUpHeadline = "verdict.not_set_up.headline"
	KeyNotSetUpAdvice   = "verdict.not_set_up.advice"
	KeyLockedOutAdvice  = "verdict.locked_out.advice"
	KeyOfflineAdvice    = "verdict.offline.advice"
	KeyPortalDownAdvice = "verdict.portal_down.advice"
	// KeyProxyOnlyAdvice replaces "work as in the office" while the
	// userspace tunnel runs: only programs set to use the proxy reach it.
	KeyProxyOnlyAdvice = "verdict.connected_proxy_only.advice"
	// KeyProxyOnlyHeadline replaces "Connected – all fine": with the proxy
	// alone, mail and network drives do not reach the office.
	KeyProxyOnlyHeadline = "verdict.connected_proxy_only.headline"
	// KeyHelperMissing and KeyHelperRefused are the agent's (tunnel
	// choice) words for a helper that does not answer or refuses.
	KeyHelperMissing = "tunnel.helper_missing"
	KeyHelperRefused = "tunnel.helper_refused"
	// KeyStartNotSetUp is the refusal of a session start, by the agent
	// or by `dienstweg up` before it asks for a code.
	KeyStartNotSetUp = "start.not_set_up"
)

// TranslationKeys lists the keys Judge can put into a Verdict beyond the
// per-state ones (state.<s>, next.<s>).
func TranslationKeys() []string {
	return append([]string{KeyNotSetUpHeadline, KeyNotSetUpAdvice, KeyLockedOutAdvice, KeyOfflineAdvice, KeyPortalDownAdvice, KeyStartNotSetUp, KeyProxyOnlyAdvice, KeyProxyOnlyHeadline, KeyHelperMissing, KeyHelperRefused, KeyStartAgainAdvice}, append(append(officeKeys(), endingKeys()...), hoursKeys()...)...)
}

// Judge returns the verdict for s; loc (nil: time.Local) is the time
// zone of the times it names. It is pure: it reads only the snapshot's
// other fields, so a table test can check any situation.
func Judge(s state.Snapshot, loc *time.Location) state.Verdict {
	phone := map[string]string{"Phone": s.Helpdesk.Phone}
	of := func(sess state.Session) state.Verdict {
		return state.Verdict{Situation: sess.String(), Icon: sess,
			Headline: state.Message{Key: "state." + sess.String()},
			Advice:   state.Message{Key: "next." + sess.String(), Args: phone}}
	}
	notConnected := func(name string, advice state.Message, start state.StartAction) state.Verdict {
		v := of(state.NotConnected)
		v.Situation, v.Advice, v.Start = name, advice, start
		return v
	}
	switch {
	case s.ProfileMissing != "":
		// Nothing works without the profile; only IT can help.
		return state.Verdict{Situation: NoProfile, Icon: state.Problem,
			Headline: state.Message{Key: "profile.missing.state"},
			Advice:   state.Message{Key: "profile.missing.next"}}
	case s.Session.Active(s.Running):
		v := of(s.Session)
		v.End = true
		v.Desktops = openableDesktops(s)
		if s.Session == state.Connected && s.Tunnel.Mode == state.TunnelModeUserspace {
			v.Headline = state.Message{Key: KeyProxyOnlyHeadline}
			v.Advice = state.Message{Key: KeyProxyOnlyAdvice, Args: phone}
		}
		if officeHidesStart(s.Office) {
			// The headline stays the tunnel's truth; the advice says it
			// is not needed here (unless IT wants it in the office too).
			// No "Verlängern" in the office either.
			v.Advice = state.Message{Key: KeyInOfficeSessionAdvice}
			return v
		}
		return endsSoon(v, s, loc)
	case officeHidesStart(s.Office) && (s.Enrollment.Enrolled || s.Enrollment.Step == ""):
		// In the office nothing else matters for home office: not the
		// keyring, nor a lock, nor the portal. Setting up is still
		// offered (below): IT may hand out laptops in the office.
		return inOfficeVerdict()
	case s.Keyring.Message != nil && s.Keyring.State != state.KeyringOK:
		// Nothing can start before the keyring can be read; its message
		// says how, and Dienstweg continues by itself.
		name := KeyringLocked
		if s.Keyring.State == state.KeyringUnavailable {
			name = KeyringUnavailable
		}
		return notConnected(name, *s.Keyring.Message, state.StartDisabled)
	case s.Enrollment.Step != "" && !s.Enrollment.Enrolled:
		// Step is empty until the wizard has read its progress: only then
		// is "not set up" known.
		v := notConnected(NotSetUp, state.Message{Key: KeyNotSetUpAdvice}, state.StartWizard)
		v.Headline = state.Message{Key: KeyNotSetUpHeadline}
		return v
	case !s.LockedUntil.IsZero():
		advice := state.Message{Key: KeyLockedOutAdvice, Args: map[string]string{"Time": portal.MinuteAfter(s.LockedUntil, loc)}}
		return notConnected(LockedOut, advice, state.StartDisabled)
	}
	if c, failing := health.FirstFailure(s.Health.Links); failing {
		switch {
		case c.Offline():
			v := of(state.NoInternet)
			v.Situation, v.Advice, v.Start = Offline, state.Message{Key: KeyOfflineAdvice}, state.StartDisabled
			return v
		case c.Code == health.Portal:
			// Starting needs the portal: a code typed now is lost.
			return notConnected(PortalDown, state.Message{Key: KeyPortalDownAdvice, Args: phone}, state.StartDisabled)
		}
	}
	if hoursHideStart(s) {
		// A code would be refused; the portal's hours say when again.
		return outsideHoursVerdict(s, loc)
	}
	if s.Tunnel.Mode == "" && (s.Tunnel.Helper == state.HelperMissing || s.Tunnel.Helper == state.HelperRefused) {
		// A code would be spent for nothing; a start looks at the helper
		// again, so it stays offered for when IT has fixed it.
		key := KeyHelperMissing
		if s.Tunnel.Helper == state.HelperRefused {
			key = KeyHelperRefused
		}
		return notConnected(HelperMissing, state.Message{Key: key, Args: phone}, state.StartCode)
	}
	if s.Authorisation.Expired {
		return expired(s, loc)
	}
	v := of(s.Session) // not connected, or a new code is needed
	if s.Session == state.Problem {
		return startAgain(v, phone)
	}
	v.Start = state.StartCode
	return v
}

// Derive is the store's derive function (state.Store.SetDerive): it
// writes the verdict for the rest of the snapshot, in local time.
func Derive(s *state.Snapshot) { s.Verdict = Judge(*s, time.Local) }
