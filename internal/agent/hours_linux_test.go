//go:build linux

package agent

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/org/demo"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The working hours against the real demo organisation, with the real
// tray on a private D-Bus and policy start_outside_office_hours off:
// Bernd Meier (group bauamt, Mo–Fr 06:00–21:00) signs in on a Saturday.
// The agent learns his hours from the portal's session answer; the tray
// says „Außerhalb Ihrer Arbeitszeit“ with „Homeoffice starten“ greyed
// out, the status says when home office is possible again, a start
// through the local API is refused, and the automatic code prompt at
// sign-in does not open. On Monday morning (the agent's clock moved, the
// network changed) the start is offered again. The portal keeps real
// time; the agent's clock is set to the days it needs.
func TestTrayOutsideWorkingHours(t *testing.T) {
	dbustest.PrivateBus(t)
	watcher := dbustest.StartWatcher(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("no time zone data (Debian package tzdata): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	org, prof := startDemoOrg(t, ctx)
	target, err := url.Parse(org.PortalURL)
	if err != nil {
		t.Fatal(err)
	}
	prof.InternetTargets = []string{target.Host}
	i := slices.IndexFunc(org.Users, func(u demo.User) bool { return u.Name == "bernd.meier" })
	if i < 0 {
		t.Fatalf("the demo has no bernd.meier: %+v", org.Users)
	}
	ks := keyring.NewMem()
	stateDir := t.TempDir()
	enrollDirectly(t, ctx, prof.PortalURL, prof.PortalCA, ks, stateDir, org.Users[i].Name, org.Users[i].ActivationCode)

	// The coming Saturday noon, and the Monday after it, in Berlin: both
	// within the eight days the portal's answer covers.
	real := time.Now().In(berlin)
	y, m, d := real.Date()
	saturday := time.Date(y, m, d+(int(time.Saturday-real.Weekday())+7)%7, 12, 0, 0, 0, berlin)
	if !saturday.After(real) {
		saturday = saturday.AddDate(0, 0, 7)
	}
	monday := time.Date(saturday.Year(), saturday.Month(), saturday.Day()+2, 10, 0, 0, 0, berlin)
	var ahead atomic.Int64
	ahead.Store(int64(time.Until(saturday)))
	now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }

	var log lockedBuffer
	socket := socketPath(t)
	a, err := New(Options{
		Config: Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: stateDir, CacheDir: t.TempDir(), UIExe: uiBinary, Tray: true,
			AutoStart: true,
			Policy:    &policy.Policy{Values: policy.Values{policy.KeyStartOutsideHours: false}, Origin: "test"}},
		Deps:         Deps{Keyring: ks, Now: now, Logger: slog.New(slog.NewTextHandler(&log, nil))},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	_, menu := trayMenu(t, ctx, watcher)

	s := waitStatus(t, ctx, c, "outside the working hours", func(s state.Snapshot) bool { return s.Verdict.Situation == situation.OutsideHours })
	nextMonday := time.Date(saturday.Year(), saturday.Month(), saturday.Day()+2, 6, 0, 0, 0, berlin)
	if h := s.Hours; !h.Outside || !h.NextStart.Equal(nextMonday) || !slices.Equal(h.Weekdays, []string{"mo", "di", "mi", "do", "fr"}) || h.From != "06:00" || h.Until != "21:00" {
		t.Errorf("hours = %+v, want outside until %v, mo–fr 06:00–21:00", h, nextMonday)
	}
	if s.Verdict.Start != state.StartDisabled || s.Verdict.Advice.Args["Date"] != nextMonday.In(time.Local).Format("02.01.2006") {
		t.Errorf("verdict = %+v", s.Verdict)
	}
	greyed := func(n dbustest.MenuNode) bool {
		start, ok := n.FindByLabel("Homeoffice starten")
		return hasVisible("Außerhalb Ihrer Arbeitszeit")(n) && ok && start.Visible && !start.Enabled
	}
	if _, err := menu.WaitLayout(ctx, greyed); err != nil {
		t.Fatalf("tray outside the working hours: %v", err)
	}
	if err := c.StartSession(ctx, "123456"); !isAPIError(err, situation.OutsideHours) {
		t.Errorf("StartSession outside the working hours = %v, want outside_hours", err)
	}
	waitFor(t, ctx, "the automatic code prompt decided", func() bool { return strings.Contains(log.String(), "automatic code prompt") })
	if got := log.String(); !strings.Contains(got, "automatic code prompt: not needed") || !strings.Contains(got, "situation="+situation.OutsideHours) {
		t.Errorf("the automatic code prompt did not stay away:\n%s", grepLines(got, "automatic code prompt"))
	}

	// Monday 10:00: inside; the network change makes the agent look.
	ahead.Store(int64(time.Until(monday)))
	a.networkChanged()
	if _, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		start, ok := n.FindByLabel("Homeoffice starten")
		return hasVisible("Homeoffice nicht verbunden")(n) && ok && start.Visible && start.Enabled
	}); err != nil {
		t.Fatalf("tray inside the working hours: %v", err)
	}
	if s := a.Snapshot(); s.Hours.Outside || s.Verdict.Start != state.StartCode {
		t.Errorf("inside the hours: hours %+v, verdict %+v", s.Hours, s.Verdict)
	}
}

// grepLines are the lines of text that contain sub.
func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
