// Package health is the connection health chain of PRODUCT.md flow 3:
// local network → internet → captive portal → portal → gateway → office
// DNS → office services. Each link is a Check described as data (code,
// severity, texts as translation keys); probe functions take their
// dialers, resolvers and sources as arguments so they run the same on the
// host, through the tunnel's netstack and in tests. A Monitor schedules
// the probes with an injected clock, smooths them with hysteresis, names
// the first failing link in plain words and publishes the chain to the
// agent's state.Store.
package health

import (
	"slices"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Link codes. They are stable: they name translation keys
// (health.link.<code>), the JSON of `dienstweg status` and the support
// summary.
const (
	LocalNetwork   = "local_network"
	Internet       = "internet"
	CaptivePortal  = "captive_portal"
	Portal         = "portal"
	Gateway        = "gateway"
	OfficeDNS      = "office_dns"
	OfficeServices = "office_services"
	// OfficeDesktop is an office desktop from the profile (issue 20),
	// one link per desktop, after the services it often depends on.
	OfficeDesktop = "office_desktop"
)

// Severity says what a confirmed failure of a check means for the session.
type Severity int

// Severities, mildest first.
const (
	// SeverityNotice shows in the chain and the diagnosis but leaves the
	// session state alone (the portal is only needed to start a session).
	SeverityNotice Severity = iota
	// SeverityLimited: some office services are slow or unreachable.
	SeverityLimited
	// SeverityProblem: the tunnel does not carry traffic.
	SeverityProblem
	// SeverityNoInternet: the laptop itself is offline.
	SeverityNoInternet
)

var severityNames = [...]string{"notice", "limited", "problem", "no_internet"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "severity(?)"
	}
	return severityNames[s]
}

// Session is the session state a confirmed failure of this severity
// leads to while a session is up.
func (s Severity) Session() state.Session {
	switch s {
	case SeverityLimited:
		return state.Limited
	case SeverityProblem:
		return state.Problem
	case SeverityNoInternet:
		return state.NoInternet
	}
	return state.Connected
}

// Check describes one link of the chain. Its texts are translation keys
// derived from Code, so the table below is the whole catalogue:
//
//	health.link.<code>          short name in the chain ("Heimnetz")
//	health.check.<code>.title   what failed, one line
//	health.check.<code>.explain why that matters, in plain words
//	health.check.<code>.next    what the employee can do next
//	health.diag.<code>          the diagnosis when this is the first failing link
type Check struct {
	Code     string
	Severity Severity
	// Component is what an announcement names when it covers this link,
	// the link code as in internal/announce; one office service is
	// "office_services:<name>".
	Component string
	// Tunnel is true for checks that need a session: they run only
	// while one is up.
	Tunnel bool
}

// TitleKey is the translation key of the one-line title.
func (c Check) TitleKey() string { return "health.check." + c.Code + ".title" }

// ExplainKey is the translation key of the explanation.
func (c Check) ExplainKey() string { return "health.check." + c.Code + ".explain" }

// NextKey is the translation key of the next step for the employee.
func (c Check) NextKey() string { return "health.check." + c.Code + ".next" }

// DiagKey is the translation key of the diagnosis naming this link.
func (c Check) DiagKey() string { return "health.diag." + c.Code }

// NameKey is the translation key of the link's short name.
func (c Check) NameKey() string { return "health.link." + c.Code }

// Checks is the chain in order: the diagnosis names the first link that
// fails, since every later one depends on it.
var Checks = []Check{
	{Code: LocalNetwork, Severity: SeverityNoInternet, Component: LocalNetwork},
	{Code: Internet, Severity: SeverityNoInternet, Component: Internet},
	{Code: CaptivePortal, Severity: SeverityNoInternet, Component: CaptivePortal},
	{Code: Portal, Severity: SeverityNotice, Component: Portal},
	{Code: Gateway, Severity: SeverityProblem, Component: Gateway, Tunnel: true},
	{Code: OfficeDNS, Severity: SeverityProblem, Component: OfficeDNS, Tunnel: true},
	{Code: OfficeServices, Severity: SeverityLimited, Component: OfficeServices, Tunnel: true},
	{Code: OfficeDesktop, Severity: SeverityLimited, Component: OfficeDesktop, Tunnel: true},
}

// Lookup returns the check with code.
func Lookup(code string) (Check, bool) {
	i := slices.IndexFunc(Checks, func(c Check) bool { return c.Code == code })
	if i < 0 {
		return Check{}, false
	}
	return Checks[i], true
}

// Detail keys of link results (Link.Detail.Key) and diagnoses beyond the
// per-check ones.
const (
	KeyOK               = "health.detail.ok"
	KeyFailed           = "health.detail.failed"
	KeySkipped          = "health.detail.skipped"
	KeyNoRoute          = "health.detail.no_route"
	KeyInterfaceDown    = "health.detail.interface_down"
	KeyTimeout          = "health.detail.timeout"
	KeyRefused          = "health.detail.refused"
	KeyCaptive          = "health.detail.captive"
	KeyUnexpected       = "health.detail.unexpected_answer"
	KeyClockOff         = "health.detail.clock_off"
	KeyHandshake        = "health.detail.handshake"
	KeyNoHandshake      = "health.detail.no_handshake"
	KeyHandshakeOld     = "health.detail.handshake_old"
	KeyTunnelDown       = "health.detail.tunnel_down"
	KeyResolved         = "health.detail.resolved"
	KeyNotResolved      = "health.detail.not_resolved"
	KeyLatency          = "health.detail.latency"
	KeySlow             = "health.detail.slow"
	KeyHTTPStatus       = "health.detail.http_status"
	KeyUntrusted        = "health.detail.untrusted"
	KeyCertificateClock = "health.detail.certificate_clock"
	KeyDiagService      = "health.diag.office_service"
	KeyDiagServiceSlow  = "health.diag.office_service_slow"
	KeyDiagClock        = "health.diag.clock"
	KeyDiagMaintenance  = "health.diag.maintenance"
	KeyDiagMaintenanceU = "health.diag.maintenance_until"
	KeyDiagOutage       = "health.diag.outage"
	KeyDiagOutageU      = "health.diag.outage_until"
	// KeyDiagPortalSession: the portal does not answer, but the session
	// through a working tunnel goes on.
	KeyDiagPortalSession = "health.diag.portal_session"
)

// Diagnoses of the portal link that the setup wizard says in the same
// words, so the status window and the wizard never disagree about a
// portal whose certificate is not trusted.
const (
	KeyDiagUntrusted        = portal.KeyCertificate
	KeyDiagCertificateClock = portal.KeyClock
)

// TranslationKeys lists every key this package can put into a
// state.Message, so a test next to the translation files can check that
// each exists in every language.
func TranslationKeys() []string {
	keys := []string{
		KeyOK, KeyFailed, KeySkipped, KeyNoRoute, KeyInterfaceDown, KeyTimeout, KeyRefused,
		KeyCaptive, KeyUnexpected, KeyClockOff, KeyHandshake, KeyNoHandshake, KeyHandshakeOld,
		KeyTunnelDown, KeyResolved, KeyNotResolved, KeyLatency, KeySlow, KeyHTTPStatus,
		KeyUntrusted, KeyCertificateClock, KeyDiagUntrusted, KeyDiagCertificateClock,
		KeyDiagService, KeyDiagServiceSlow, KeyDiagClock, KeyDiagMaintenance, KeyDiagMaintenanceU,
		KeyDiagOutage, KeyDiagOutageU, KeyDiagPortalSession,
	}
	keys = append(keys, desktopKeys...)
	for _, c := range Checks {
		keys = append(keys, c.NameKey(), c.TitleKey(), c.ExplainKey(), c.NextKey(), c.DiagKey())
	}
	return keys
}
