package agent

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/cli"
	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The end of the day against the real demo organisation, with the tray
// and the notification server on a private D-Bus: 15 minutes before the
// authorisation ends a notification offers "Verlängern" and the tray and
// the verdict offer it too; its button opens the code prompt; a new code
// moves the end while the session stays connected, and the notification
// goes away; after the end the verdict, the tray and `dienstweg status`
// say "Sitzung abgelaufen", with a new code as the one action. The
// agent's clock is moved, as the day would; the portal keeps real time
// (codes are real).
func TestEndOfDayAgainstDemo(t *testing.T) {
	dbustest.PrivateBus(t)
	watcher := dbustest.StartWatcher(t)
	notes := dbustest.StartNotificationServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	org, prof := startDemoOrg(t, ctx)
	target, err := url.Parse(org.PortalURL)
	if err != nil {
		t.Fatal(err)
	}
	prof.InternetTargets = []string{target.Host}
	ks := keyring.NewMem()
	stateDir := t.TempDir()
	secret := enrollDirectly(t, ctx, prof.PortalURL, prof.PortalCA, ks, stateDir, org.Users[0].Name, org.Users[0].ActivationCode)

	var ahead atomic.Int64 // how far the agent's clock is ahead
	now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: stateDir, CacheDir: t.TempDir(), UIExe: uiBinary, Tray: true},
		Deps:         Deps{Keyring: ks, Now: now},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	_, menu := trayMenu(t, ctx, watcher)

	// Each code once: the wizard spent this step's, the start takes the
	// next; the extension waits for the step after.
	startAt := time.Now().Add(authcode.Period)
	if err := c.StartSession(ctx, authcodetest.Code(t, secret, startAt)); err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	s := waitStatus(t, ctx, c, "connected with an end", func(s state.Snapshot) bool {
		return s.Session == state.Connected && !s.Authorisation.Until.IsZero()
	})
	until := s.Authorisation.Until
	if s.Verdict.Extend || s.Authorisation.EndsSoon {
		t.Fatalf("offered to extend at the start: %+v", s.Authorisation)
	}

	// 10 minutes before the end.
	ahead.Store(int64(time.Until(until.Add(-10 * time.Minute))))
	s = waitStatus(t, ctx, c, "the warning", func(s state.Snapshot) bool { return s.Verdict.Situation == situation.EndsSoon })
	endText := until.In(time.Local).Format("15:04")
	if !s.Verdict.Extend || !s.Verdict.End || s.Session != state.Connected {
		t.Errorf("verdict before the end: %+v", s.Verdict)
	}
	if _, err := menu.WaitLayout(ctx, hasVisible("Verbunden – endet um "+endText+" Uhr", "Homeoffice verlängern", "Homeoffice beenden")); err != nil {
		t.Fatalf("tray before the end: %v", err)
	}
	warning := waitNotification(t, ctx, notes, "Homeoffice endet")
	if warning.Summary != "Homeoffice endet um "+endText+" Uhr" || !slices.Equal(warning.Actions, []string{"extend", "Verlängern"}) {
		t.Fatalf("warning = %q with actions %v", warning.Summary, warning.Actions)
	}

	// "Verlängern" opens the code prompt: the window's holder is raised.
	holder, err := c.Watch(ctx, localapi.WindowCode)
	if err != nil {
		t.Fatalf("claiming the code prompt: %v", err)
	}
	<-holder // its first state
	if err := notes.InvokeAction(warning.ID, "extend"); err != nil {
		t.Fatal(err)
	}
	for ev := range holder {
		if ev.Type == localapi.EventRaise {
			break
		}
	}

	// The code the prompt sends extends; the session stays connected.
	step := func(t time.Time) int64 { return t.Unix() / int64(authcode.Period/time.Second) }
	for step(time.Now().Add(authcode.Period)) <= step(startAt) {
		time.Sleep(200 * time.Millisecond)
	}
	if err := c.StartSession(ctx, authcodetest.Code(t, secret, time.Now().Add(authcode.Period))); err != nil {
		t.Fatalf("extending: %v", err)
	}
	s = waitStatus(t, ctx, c, "the new end", func(s state.Snapshot) bool { return s.Authorisation.Until.After(until) })
	newEnd := s.Authorisation.Until
	if newEnd.Sub(until) != 2*time.Hour || s.Session != state.Connected || s.Verdict.Extend || s.Verdict.Situation == situation.EndsSoon {
		t.Errorf("after the extension: until %v (was %v), session %v, verdict %+v", newEnd, until, s.Session, s.Verdict)
	}
	if s.Detail == nil || s.Detail.Args["Until"] != newEnd.In(time.Local).Format("15:04") {
		t.Errorf("detail after the extension: %+v", s.Detail)
	}
	waitFor(t, ctx, "the answered warning taken away", func() bool { return slices.Contains(notes.Closed(), warning.ID) })

	// Past the new end.
	ahead.Store(int64(time.Until(newEnd.Add(time.Second))))
	s = waitStatus(t, ctx, c, "expired", func(s state.Snapshot) bool { return s.Verdict.Situation == situation.Expired })
	if s.Session != state.CodeNeeded || s.Verdict.Start != state.StartCode || s.Verdict.End || s.Verdict.Extend || !s.Authorisation.Expired {
		t.Errorf("after the end: session %v, verdict %+v, authorisation %+v", s.Session, s.Verdict, s.Authorisation)
	}
	// The tray hides "beenden" after it showed "starten": wait for both.
	layout, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		return hasVisible("Sitzung abgelaufen", "Homeoffice starten")(n) && hasHidden("Homeoffice beenden", "Homeoffice verlängern")(n)
	})
	if err != nil {
		t.Fatalf("tray after the end (still offering to end or extend?): %v", err)
	}
	if strings.Contains(strings.Join(layout.Labels(), "|"), "Verbunden") {
		t.Errorf("tray still says connected: %v", layout.Labels())
	}
	var out bytes.Buffer
	if rc := cli.Status(ctx, c, cli.Options{Lang: "de", Out: &out, Err: &out}); rc != cli.ExitOK {
		t.Fatalf("dienstweg status: exit %d: %s", rc, out.String())
	}
	if !strings.Contains(out.String(), "Verbindung: Sitzung abgelaufen") || !strings.Contains(out.String(), "um "+newEnd.In(time.Local).Format("15:04")+" Uhr abgelaufen") {
		t.Errorf("dienstweg status after the end:\n%s", out.String())
	}
	waitNotification(t, ctx, notes, "Sitzung abgelaufen")
}

// waitNotification waits for a notification whose title starts with
// prefix; the demo's announcements come as notifications too.
func waitNotification(tb testing.TB, ctx context.Context, notes *dbustest.NotificationServer, prefix string) dbustest.Notification {
	tb.Helper()
	for n := 1; ; n++ {
		got, err := notes.Wait(ctx, n)
		if err != nil {
			tb.Fatalf("no notification %q: %v", prefix, err)
		}
		if last := got[len(got)-1]; strings.HasPrefix(last.Summary, prefix) {
			return last
		}
	}
}

func waitFor(tb testing.TB, ctx context.Context, what string, ok func() bool) {
	tb.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			tb.Fatalf("never %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
