package agent

import (
	"context"
	"errors"

	"runtime"
	"time"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portal/api"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/redact"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/support"
)

// screenCodes are the codes in the windows' footers (internal/ui's frame);
// the wizard's comes from its current step.
var screenCodes = map[string]string{
	localapi.WindowStatus:        "S1",
	localapi.WindowCode:          "C1",
	localapi.WindowAnnouncements: "A1",
	localapi.WindowSupport:       "H1",
}

// maxReportErrors is how many recent errors a report carries, newest first.
const maxReportErrors = 10

// SendReport implements localapi.Support: it sends this device's state to
// the portal for the IT service ("An den IT-Service senden"), only when
// the employee asks. Every text is rendered here, in German for the IT
// service, and redacted (internal/redact) before it leaves.
func (a *Agent) SendReport(ctx context.Context) (time.Time, error) {
	s := a.store.Snapshot()
	if !s.Enrollment.Enrolled {
		return time.Time{}, fail(problem.Unavailable, "report_not_set_up", "support.report.not_set_up",
			"this computer is not set up, so the portal does not know it; read out the support code instead")
	}
	at, err := a.portal.SendReport(ctx, a.report(s))
	if err != nil {
		a.log.Warn("sending the report for the IT service", "err", err)
		return time.Time{}, a.reportProblem(s, err)
	}
	a.log.Info("report sent to the IT service", "received_at", at)
	return at, nil
}

// reportProblem says why the report did not arrive and what to do instead.
func (a *Agent) reportProblem(s state.Snapshot, err error) error {
	var pe *portal.Error
	if !errors.As(err, &pe) {
		return problem.New(problem.Unavailable, "support.report.failed", err)
	}
	switch pe.Kind {
	case portal.KindDeviceUnauthorised:
		return problem.New(problem.Unavailable, "support.report.not_set_up", err)
	case portal.KindRateLimited:
		at := a.now().Add(pe.RetryAfter).In(time.Local).Format("15:04")
		return problem.New(problem.Limited, "support.report.wait", err, "Time", at)
	case portal.KindSupportCodeTaken:
		code, rerr := a.renewSupportCode(s.SupportCode)
		if rerr != nil {
			a.log.Warn("renewing the support code", "err", rerr)
			return problem.New(problem.Internal, "support.report.failed", errors.Join(err, rerr))
		}
		return problem.New(problem.Conflict, "support.report.code_renewed", err, "Code", code)
	case portal.KindUnreachable:
		if s.Session == state.NoInternet || linkFails(s, "internet") || linkFails(s, "local_network") {
			return problem.New(problem.Unavailable, "support.report.offline", err)
		}
	}
	return problem.New(problem.Unavailable, "support.report.portal_down", err)
}

// renewSupportCode gives this device a new support code after the portal
// said that refused belongs to another device, and shows it. A press
// refused with an older code finds the new one already there.
func (a *Agent) renewSupportCode(refused string) (string, error) {
	a.supportCodeMu.Lock()
	defer a.supportCodeMu.Unlock()
	if current := a.store.Snapshot().SupportCode; current != refused {
		return current, nil
	}
	code, err := support.RenewCode(a.opts.StateDir)
	if err != nil {
		return "", err
	}
	a.store.Update(func(s *state.Snapshot) { s.SupportCode = code })
	a.log.Info("new support code: the portal knows the old one from another device", "old", refused, "new", code)
	return code, nil
}

func linkFails(s state.Snapshot, code string) bool {
	for _, l := range s.Health.Links {
		if l.Code == code {
			return !l.OK && !l.Skipped
		}
	}
	return false
}

func (a *Agent) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}

// report is what the IT service sees of s: no user name, no keys, no
// codes; texts rendered in German and redacted.
func (a *Agent) report(s state.Snapshot) api.DeviceReport {
	de := a.reportCatalog
	t := func(m *state.Message) string {
		if m == nil || m.Key == "" {
			return ""
		}
		return redact.String(de.T(m.Key, m.Args))
	}
	r := api.DeviceReport{
		SupportCode: s.SupportCode,
		Version:     s.Version,
		OS:          runtime.GOOS + "/" + runtime.GOARCH,
		TunnelMode:  s.Tunnel.Mode,
		Session:     s.Session.String(),
		Headline:    t(&s.Verdict.Headline),
		Health:      []api.ReportLink{},
		Errors:      []api.ReportError{},
		CreatedAt:   a.now().UTC(),
	}
	if name, at := a.windows.lastScreen(); name != "" {
		r.Screen = screenCodes[name]
		if name == localapi.WindowWizard {
			r.Screen = a.wizardScreen()
		}
		if r.Screen == "" {
			r.Screen = name
		}
		at = at.UTC()
		r.ScreenAt = &at
	}
	for _, l := range s.Health.Links {
		name := de.T("health.link." + l.Code)
		if l.Target != "" {
			name += ": " + l.Target
		}
		detail := t(&l.Detail)
		if l.Skipped {
			detail = de.T("support.report.skipped")
		}
		r.Health = append(r.Health, api.ReportLink{Code: l.Code, Name: redact.String(name), OK: l.OK, Detail: detail})
	}
	for i := len(s.RecentErrors) - 1; i >= 0 && len(r.Errors) < maxReportErrors; i-- {
		e := s.RecentErrors[i]
		r.Errors = append(r.Errors, api.ReportError{Time: e.Time.UTC(), Text: t(&e.Message)})
	}
	return r
}

// wizardScreen is the wizard's current step code (E1–E7).
func (a *Agent) wizardScreen() string {
	a.enrollMu.Lock()
	defer a.enrollMu.Unlock()
	if a.wizardCode == "" {
		return "E1"
	}
	return a.wizardCode
}
