package agent

import (
	"context"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/org/demo"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The portal goes away in the middle of a session while the gateway stays
// (issue 13, #10). Before, the only internet check targeted the portal's
// host, so the agent said "no internet, restart your router", ended the
// health checks of the session and never showed it connected again. Now
// the chain names the portal, the session stays "Verbunden", and when the
// portal is back every link is green by itself.
func TestPortalOutageKeepsSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	org, _ := startDemoOrg(t, ctx)
	// No announcement explains the outage. The demo's maintenance, valid
	// from an hour before the start, would: the chain then names it
	// instead of the portal, whenever the agent's first poll (at a random
	// time up to 30 s after its start) came before the relay stopped.
	maint, err := org.Store.Announcement(ctx, "demo-maintenance")
	if err != nil {
		t.Fatalf("Announcement: %v", err)
	}
	maint.ValidUntil = maint.ValidFrom.Add(time.Second)
	if err := org.Store.PutAnnouncement(ctx, maint); err != nil {
		t.Fatalf("PutAnnouncement: %v", err)
	}
	// The portal is reached through a relay the test can stop: the portal
	// is gone for the agent, while the gateway, in the same process as the
	// demo portal, goes on admitting this device.
	target, err := url.Parse(org.PortalURL)
	if err != nil {
		t.Fatal(err)
	}
	relay := portaltest.StartRelay(t, target.Host)
	prof, err := demo.Profile("https://"+relay.Addr, org.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	// The internet: a host that keeps answering, apart from the portal's
	// address. The demo portal itself does; only the relay takes it away.
	prof.InternetTargets = []string{target.Host}

	ks := keyring.NewMem()
	stateDir := t.TempDir()
	secret := enrollDirectly(t, ctx, prof.PortalURL, prof.PortalCA, ks, stateDir, org.Users[0].Name, org.Users[0].ActivationCode)

	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: stateDir, CacheDir: t.TempDir(), UIExe: uiBinary},
		Deps:         Deps{Keyring: ks},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	// The wizard's code was spent; the portal accepts one step ahead.
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartSession(ctx, code); err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	waitSession(t, ctx, c, state.Connected)
	waitStatus(t, ctx, c, "every link green", allGreen)

	relay.Stop()
	a.health.Trigger("test: portal stopped") // instead of waiting 5 minutes
	s := waitStatus(t, ctx, c, "the portal named", func(s state.Snapshot) bool {
		return s.Health.Diagnosis != nil && s.Health.Diagnosis.Key == "health.diag.portal_session"
	})
	if s.Session != state.Connected {
		t.Errorf("session with the portal gone = %v, want connected", s.Session)
	}
	// It stays so for a while: no check that does not concern the tunnel
	// ends or downgrades the session.
	for range 15 {
		time.Sleep(200 * time.Millisecond)
		s, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Session != state.Connected || !linkIs(s.Health, "internet", true) || !linkIs(s.Health, "gateway", true) || !linkIs(s.Health, "portal", false) {
			t.Fatalf("while the portal is gone: session %v, diagnosis %+v, links %+v", s.Session, s.Health.Diagnosis, s.Health.Links)
		}
	}
	if got := a.cat.T("state." + s.Session.String()); got != "Verbunden – alles in Ordnung" {
		t.Errorf("state reads %q", got)
	}

	relay.Start(t)
	waitStatus(t, ctx, c, "every link green with the portal back", allGreen)
}

// allGreen: connected, no diagnosis, every link checked and passing.
func allGreen(s state.Snapshot) bool {
	if s.Session != state.Connected || s.Health.Diagnosis != nil || len(s.Health.Links) == 0 {
		return false
	}
	for _, l := range s.Health.Links {
		if !l.OK || l.Skipped {
			return false
		}
	}
	return true
}

func linkIs(h state.Health, code string, ok bool) bool {
	for _, l := range h.Links {
		if l.Code == code {
			return l.OK == ok && !l.Skipped
		}
	}
	return false
}

func waitStatus(tb testing.TB, ctx context.Context, c *localapi.Client, what string, ok func(state.Snapshot) bool) state.Snapshot {
	tb.Helper()
	var last state.Snapshot
	for {
		s, err := c.Status(ctx)
		if err == nil && ok(s) {
			return s
		}
		if err == nil {
			last = s
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("never %s; last: session %v, diagnosis %+v, links %+v", what, last.Session, last.Health.Diagnosis, last.Health.Links)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// enrollDirectly sets the device up with the wizard's state machine, as
// the wizard window would, and returns the authenticator secret.
func enrollDirectly(tb testing.TB, ctx context.Context, portalURL, ca string, ks keyring.Store, dir, user, activation string) string {
	tb.Helper()
	pc, err := portal.New(portal.Config{BaseURL: portalURL, CAPEM: ca})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pc.Close)
	m, err := enroll.New(ctx, enroll.Config{Portal: pc, Keyring: ks, StateDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	step := func(v enroll.View, err error) enroll.View {
		tb.Helper()
		if err != nil || v.Error != nil {
			tb.Fatalf("wizard at %s: %v %+v", v.Step, err, v.Error)
		}
		return v
	}
	step(m.Next(ctx))
	step(m.SubmitSignIn(ctx, user, activation))
	v := step(m.ToggleSecret())
	uri, err := url.Parse(v.Authenticator.URI.Reveal())
	if err != nil {
		tb.Fatal(err)
	}
	secret := uri.Query().Get("secret")
	step(m.Next(ctx))
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	step(m.SubmitCode(ctx, code))
	for v = step(m.Next(ctx)); v.Step != enroll.StepDone; v = step(m.Next(ctx)) {
	}
	return secret
}
