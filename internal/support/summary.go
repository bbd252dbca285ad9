package support

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Translate renders a translation key with arguments; the ui passes
// Fyne's lang, the command line internal/i18n.
type Translate func(key string, args map[string]string) string

// Line is one row of the support summary.
type Line struct {
	Label, Value string
}

// Summary lists everything the helpdesk asks for, in reading order. The
// support window shows it and "Kopieren" puts Text(Summary(...)) on the
// clipboard, so both always say the same.
func Summary(s state.Snapshot, T Translate, loc *time.Location) []Line {
	msg := func(m *state.Message) string {
		if m == nil {
			return ""
		}
		return T(m.Key, m.Args)
	}
	lines := []Line{
		{T("support.code", nil), s.SupportCode},
		{T("support.version", nil), s.Version},
		{T("support.device", nil), s.DeviceName},
		{T("support.user", nil), userLine(s, T)},
		{T("support.organisation", nil), s.Organisation},
		{T("support.session", nil), msg(&s.Verdict.Headline)},
		{T("support.health", nil), healthLine(s.Health, T)},
		{T("support.clock", nil), clockLine(s.Health.ClockOffset, T)},
	}
	if s.Tunnel.Policy != "" {
		// After the session line: which programs that connection serves.
		lines = slices.Insert(lines, 6, Line{T("support.tunnel", nil), tunnelLine(s.Tunnel, T)})
	}
	if len(s.RecentErrors) == 0 {
		lines = append(lines, Line{T("support.errors", nil), T("support.no_errors", nil)})
	}
	for i := len(s.RecentErrors) - 1; i >= 0; i-- {
		e := s.RecentErrors[i]
		lines = append(lines, Line{T("support.error_at", map[string]string{"Time": e.Time.In(loc).Format("02.01. 15:04")}), msg(&e.Message)})
	}
	return append(lines, HelpdeskLine(s, T))
}

// HelpdeskLine is the summary's line with the helpdesk's phone number
// and hours, which the support window shows at the top.
func HelpdeskLine(s state.Snapshot, T Translate) Line {
	return Line{T("support.helpdesk", nil), strings.TrimSpace(s.Helpdesk.Phone + "  " + s.Helpdesk.Hours)}
}

// Text renders the summary as plain text, one "Label: value" per line.
func Text(lines []Line) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s: %s\n", l.Label, l.Value)
	}
	return b.String()
}

// tunnelLine says which programs home office reaches the office for.
func tunnelLine(t state.Tunnel, T Translate) string {
	switch {
	case t.Mode == state.TunnelModeSystem:
		return T("support.tunnel.system", nil)
	case t.Mode == state.TunnelModeUserspace && t.Proxy != "":
		return T("support.tunnel.proxy_only", map[string]string{"Proxy": t.Proxy})
	case t.Mode == state.TunnelModeUserspace:
		return T("support.tunnel.proxy_only_no_proxy", nil)
	case t.Helper == state.HelperMissing || t.Helper == state.HelperRefused:
		return T("support.tunnel.none", nil)
	}
	return T("support.tunnel.unknown", nil)
}

func healthLine(h state.Health, T Translate) string {
	if len(h.Links) == 0 {
		return T("support.health_unknown", nil)
	}
	parts := make([]string, 0, len(h.Links))
	for _, l := range h.Links {
		mark := "✓"
		if !l.OK {
			mark = "✗"
		}
		parts = append(parts, mark+" "+T("health.link."+l.Code, nil))
	}
	return strings.Join(parts, " → ")
}

// clockLine says the clock is right while codes still work (the rule is
// authcode's), and how far it is off, in whole seconds, only beyond.
func clockLine(offset *float64, T Translate) string {
	if offset == nil {
		return T("support.clock_unknown", nil)
	}
	secs := *offset // local minus the portal's: positive is fast
	if math.Abs(secs) <= authcode.MaxClockSkew.Seconds() {
		return T("support.clock_ok", nil)
	}
	dir := "ahead"
	if secs < 0 {
		dir = "behind"
	}
	return T("support.clock_offset", map[string]string{"Seconds": fmt.Sprintf("%.0f", math.Abs(secs)), "Direction": dir})
}

// userLine hides the user name in screen-share safe mode.
func userLine(s state.Snapshot, T Translate) string {
	if s.SafeMode && s.Enrollment.User != "" {
		return T("support.hidden", nil)
	}
	return orDash(s.Enrollment.User)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
