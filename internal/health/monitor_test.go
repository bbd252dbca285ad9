package health

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/state"
)

func TestHealthyChainIsConnected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	s := e.store.Snapshot()
	if s.Health.Diagnosis != nil {
		t.Errorf("diagnosis %+v, want none", s.Health.Diagnosis)
	}
	var codes []string
	for _, l := range s.Health.Links {
		if !l.OK || l.Skipped {
			t.Errorf("link %s not OK: %+v", l.Code, l)
		}
		codes = append(codes, l.Code)
	}
	want := "local_network internet captive_portal portal gateway office_dns office_services"
	if got := strings.Join(codes, " "); got != want {
		t.Errorf("chain %q, want %q", got, want)
	}
	svc := link(t, s.Health, OfficeServices, "Intranet")
	if svc.Latency <= 0 || len(svc.History) == 0 {
		t.Errorf("service link has no latency or history: %+v", svc)
	}
	if s.Health.CheckedAt.IsZero() || s.Health.ChangedAt.IsZero() {
		t.Errorf("CheckedAt %v ChangedAt %v, want both set", s.Health.CheckedAt, s.Health.ChangedAt)
	}
}

func TestFlapping(t *testing.T) {
	t.Parallel()
	t.Run("one_dropped_probe_keeps_state", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.start()
		before := e.store.Snapshot().Health.ChangedAt
		e.tunnel.drops.Store(1)
		for range 6 {
			s := e.step()
			if s.Session != state.Connected || s.Health.Diagnosis != nil {
				t.Fatalf("session %v diagnosis %+v after one lost probe", s.Session, s.Health.Diagnosis)
			}
		}
		if got := e.store.Snapshot().Health.ChangedAt; !got.Equal(before) {
			t.Errorf("ChangedAt moved from %v to %v on a lost probe", before, got)
		}
	})
	t.Run("two_in_a_row_change_it", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.start()
		verdicts, stop := e.mon.SubscribeVerdict()
		defer stop()
		if v := <-verdicts; v.GatewayLost || !v.Decided || v.Session != state.Connected {
			t.Fatalf("verdict at start %+v", v)
		}
		e.tunnel.drops.Store(2)
		var s state.Snapshot
		for range 4 {
			if s = e.step(); s.Session != state.Connected {
				break
			}
		}
		if s.Session != state.Problem || s.Health.Diagnosis == nil || s.Health.Diagnosis.Key != "health.diag.gateway" {
			t.Fatalf("session %v diagnosis %+v, want problem naming the gateway", s.Session, s.Health.Diagnosis)
		}
		// The session's supervisor learns it from the verdict.
		if v := <-verdicts; !v.GatewayLost || v.Session != state.Problem {
			t.Fatalf("verdict after the loss %+v, want the gateway lost", v)
		}
		// The gateway answers again: back to Connected by itself.
		s = e.steps(3)
		if s.Session != state.Connected {
			t.Fatalf("after the gateway returned: %v %+v", s.Session, s.Health.Diagnosis)
		}
		if v := <-verdicts; v.GatewayLost || v.Session != state.Connected {
			t.Fatalf("verdict after the return %+v", v)
		}
	})
}

func TestDiagnosisNamesFirstFailingLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		brk     func(*env)
		session state.Session
		key     string
		link    string
		args    map[string]string
	}{
		{"no_default_route", func(e *env) { e.noRoute.Store(true) }, state.NoInternet, "health.diag.local_network", LocalNetwork, nil},
		{"internet_down", func(e *env) { e.offline.Store(true) }, state.NoInternet, "health.diag.internet", Internet, nil},
		{"captive_portal", func(e *env) { e.captive.Store(true) }, state.NoInternet, "health.diag.captive_portal", CaptivePortal,
			map[string]string{"URL": "http://login.hotel.test/start?orig=1"}},
		{"portal_down", func(e *env) { e.portalUp.Store(false) }, state.Connected, "health.diag.portal_session", Portal, nil},
		{"gateway_stopped", func(e *env) { e.tunnel.gatewayOff.Store(true) }, state.Problem, "health.diag.gateway", Gateway,
			map[string]string{"Phone": "05221 123-4567"}},
		{"office_dns_blocked", func(e *env) { e.tunnel.dnsOff.Store(true) }, state.Problem, "health.diag.office_dns", OfficeDNS, nil},
		{"office_service_down", func(e *env) { e.svcDown.Store(true) }, state.Limited, "health.diag.office_service", OfficeServices,
			map[string]string{"Service": "Intranet", "Phone": "05221 123-4567"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.start()
			tc.brk(e)
			// Make every link due now, as a network change would.
			e.mon.Trigger("test")
			s := e.steps(4)
			if s.Session != tc.session {
				t.Errorf("session %v, want %v", s.Session, tc.session)
			}
			d := s.Health.Diagnosis
			if d == nil || d.Key != tc.key {
				t.Fatalf("diagnosis %+v, want %s", d, tc.key)
			}
			for k, v := range tc.args {
				if d.Args[k] != v {
					t.Errorf("diagnosis arg %s = %q, want %q", k, d.Args[k], v)
				}
			}
			target := ""
			if tc.link == OfficeServices {
				target = "Intranet"
			}
			if l := link(t, s.Health, tc.link, target); l.OK || l.Skipped {
				t.Errorf("link %s shown as %+v, want failed", tc.link, l)
			}
		})
	}
}

func TestAnnouncementCoversFailingLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	now := e.clock.Now()
	e.cover = &Cover{Title: "Wartung am Zugang", Until: time.Date(now.Year(), now.Month(), now.Day(), 14, 0, 0, 0, time.UTC)}
	e.tunnel.gatewayOff.Store(true)
	s := e.steps(4)
	d := s.Health.Diagnosis
	if d == nil || d.Key != "health.diag.maintenance_until" || d.Args["Until"] != "14:00" || d.Args["Title"] != "Wartung am Zugang" {
		t.Fatalf("diagnosis %+v, want maintenance until 14:00", d)
	}
	if s.Session != state.Problem {
		t.Errorf("session %v, want problem", s.Session)
	}
}

func TestAnnouncementDoesNotCoverHomeInternet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.cover = &Cover{Outage: true, Title: "Störung"}
	e.offline.Store(true)
	e.mon.Trigger("test")
	s := e.steps(4)
	if d := s.Health.Diagnosis; d == nil || d.Key != "health.diag.internet" {
		t.Fatalf("diagnosis %+v, want the internet named", d)
	}
}

func TestCaptivePortalDoesNotReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.captive.Store(true)
	e.tunnel.gatewayOff.Store(true)
	e.mon.Trigger("network change")
	s := e.steps(30)
	if d := s.Health.Diagnosis; d == nil || d.Key != "health.diag.captive_portal" {
		t.Fatalf("diagnosis %+v, want the login page", d)
	}
	if e.mon.Verdict().GatewayLost {
		t.Errorf("verdict says the gateway is lost behind a captive portal; reconnecting there is pointless")
	}
	// The gateway is still probed (its answer would prove the laptop
	// online); the office behind the lost gateway is not.
	if l := link(t, s.Health, Gateway, ""); l.OK {
		t.Errorf("gateway link %+v, want failing behind the login page", l)
	}
	if l := link(t, s.Health, OfficeDNS, ""); !l.Skipped {
		t.Errorf("office DNS link %+v, want skipped behind the login page", l)
	}
	if s.Session != state.NoInternet {
		t.Errorf("session %v behind the login page, want no_internet", s.Session)
	}
}

func TestCaptiveProbeAgainstLoginRedirect(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/generate_204" {
			http.Redirect(w, r, "/login?next=%2F", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("<form>Hotel-WLAN</form>"))
	}))
	t.Cleanup(srv.Close)
	hc := NoRedirects(HostDial)
	for _, tc := range []struct {
		name  string
		probe CaptiveProbe
		ok    bool
		login string
	}{
		{"redirect_is_captive", CaptiveProbe{URL: srv.URL + "/generate_204"}, false, srv.URL + "/login?next=%2F"},
		{"page_instead_of_204_is_captive", CaptiveProbe{URL: srv.URL + "/other"}, false, srv.URL + "/other"},
		{"expected_body_is_free", CaptiveProbe{URL: srv.URL + "/other", WantBody: "Hotel-WLAN"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := ProbeCaptive(context.Background(), hc, tc.probe)
			if r.OK != tc.ok || r.LoginURL != tc.login {
				t.Fatalf("ProbeCaptive = ok %v login %q, want %v %q", r.OK, r.LoginURL, tc.ok, tc.login)
			}
		})
	}
}

func TestSessionStateOwnership(t *testing.T) {
	t.Parallel()
	t.Run("stays_connecting_until_gateway_answers", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.tunnel.gatewayOff.Store(true)
		e.mon.SessionStarted(e.tunnel, e.gwAddr)
		if s := e.step(); s.Session != state.Connecting {
			t.Fatalf("session %v before the gateway answered, want connecting", s.Session)
		}
	})
	t.Run("never_writes_the_session", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.start()
		e.store.Update(func(s *state.Snapshot) { s.Session = state.CodeNeeded })
		e.tunnel.gatewayOff.Store(true)
		e.steps(4)
		if s := e.store.Snapshot(); s.Session != state.CodeNeeded {
			t.Fatalf("session %v, want code_needed left alone", s.Session)
		}
		if !e.mon.Verdict().GatewayLost {
			t.Errorf("verdict %+v, want the gateway lost", e.mon.Verdict())
		}
	})
	t.Run("ended_session_leaves_state_and_tunnel_links", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.start()
		e.mon.SessionEnded()
		e.store.Update(func(s *state.Snapshot) { s.Session = state.NotConnected })
		s := e.steps(3)
		if s.Session != state.NotConnected {
			t.Fatalf("session %v, want not_connected", s.Session)
		}
		for _, l := range s.Health.Links {
			if c, _ := Lookup(l.Code); c.Tunnel {
				t.Errorf("tunnel link %s shown without a session", l.Code)
			}
		}
	})
}

// The portal goes away while the tunnel works (issue 13, #10): the chain
// names the portal, the internet link still passes, the session stays
// Connected round after round, and when the portal returns all is green.
func TestPortalOutageKeepsWorkingSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.portalUp.Store(false)
	e.mon.Trigger("test")
	for i := range 20 {
		s := e.step()
		if s.Session != state.Connected {
			t.Fatalf("round %d: session %v, diagnosis %+v, want connected", i, s.Session, s.Health.Diagnosis)
		}
	}
	s := e.store.Snapshot()
	if d := s.Health.Diagnosis; d == nil || d.Key != "health.diag.portal_session" {
		t.Fatalf("diagnosis %+v, want the portal named", d)
	}
	wantPassing(t, "while only the portal is down", s.Health, Internet, Gateway, OfficeDNS)
	if e.mon.Verdict().GatewayLost {
		t.Errorf("verdict says the gateway is lost during a portal outage")
	}
	e.portalUp.Store(true)
	s = e.steps(4)
	if s.Session != state.Connected || s.Health.Diagnosis != nil {
		t.Fatalf("after the portal returned: %v %+v", s.Session, s.Health.Diagnosis)
	}
	for _, l := range s.Health.Links {
		if !l.OK || l.Skipped {
			t.Errorf("link %s not green after the portal returned: %+v", l.Code, l)
		}
	}
}

// A network that filters the internet check's own hosts while the tunnel
// works: the working gateway proves the laptop online, so the failing
// check is shown but neither named nor allowed to downgrade the session,
// and the office behind the gateway is still checked.
func TestInternetCheckContradictedByWorkingTunnel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.inetBlocked.Store(true)
	e.mon.Trigger("test")
	s := e.steps(8)
	if l := link(t, s.Health, Internet, ""); l.OK || l.Skipped {
		t.Fatalf("internet link %+v, want failing", l)
	}
	if s.Session != state.Connected || s.Health.Diagnosis != nil {
		t.Errorf("session %v diagnosis %+v, want connected without a diagnosis", s.Session, s.Health.Diagnosis)
	}
	wantPassing(t, "behind a working gateway", s.Health, Gateway, OfficeDNS)
	// The portal is still checked too: the failing internet check is
	// contradicted, so it blocks nothing.
	wantPassing(t, "with the internet check contradicted", s.Health, CaptivePortal, Portal)
	// The office still gets checked: a service going down is noticed.
	e.svcDown.Store(true)
	e.mon.Trigger("test")
	s = e.steps(8)
	if s.Session != state.Limited || s.Health.Diagnosis == nil || s.Health.Diagnosis.Key != KeyDiagService {
		t.Errorf("with a service down: session %v diagnosis %+v, want limited naming it", s.Session, s.Health.Diagnosis)
	}
	// The laptop really goes offline: the tunnel fails too, and now the
	// internet is the first failing link.
	e.svcDown.Store(false)
	e.offline.Store(true)
	e.mon.Trigger("test")
	s = e.steps(8)
	if s.Session != state.NoInternet || s.Health.Diagnosis == nil || s.Health.Diagnosis.Key != "health.diag.internet" {
		t.Errorf("offline: session %v diagnosis %+v, want no internet naming it", s.Session, s.Health.Diagnosis)
	}
	// And back: Connected by itself.
	e.offline.Store(false)
	e.inetBlocked.Store(false)
	if s = e.steps(8); s.Session != state.Connected || s.Health.Diagnosis != nil {
		t.Errorf("back online: session %v diagnosis %+v", s.Session, s.Health.Diagnosis)
	}
}

// wantPassing fails the test unless each link with code was checked and
// passed.
func wantPassing(tb testing.TB, when string, h state.Health, codes ...string) {
	tb.Helper()
	for _, code := range codes {
		if l := link(tb, h, code, ""); !l.OK || l.Skipped {
			tb.Errorf("%s link %+v %s", code, l, when)
		}
	}
}

// "health changed" is written once per change of what it says. Run
// publishes after each probe; at start three links went from unchecked to
// fine one by one, and the same line was logged three times in a row.
func TestHealthChangedLoggedOncePerChange(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer // written only by this goroutine (publish)
	e := newEnv(t, func(d *Deps, _ *Config) { d.Log = slog.New(slog.NewTextHandler(&buf, nil)) })
	runLikeRun := func() {
		t.Helper()
		e.clock.Advance(e.mon.nextWait(e.clock.Now()))
		n := e.mon.launch(context.Background())
		for range n {
			e.mon.publish(e.clock.Now(), e.mon.apply(<-e.mon.results))
		}
	}
	runLikeRun() // no session: local network, internet, portal
	e.portalUp.Store(false)
	for range 4 {
		e.mon.Trigger("test") // every link due: the portal's failure is confirmed
		runLikeRun()
	}
	var changed []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if i := strings.Index(line, `msg="health changed"`); i >= 0 {
			changed = append(changed, line[i:])
		}
	}
	if len(changed) < 2 {
		t.Fatalf("health changed logged %d times, want the start and the portal outage:\n%s", len(changed), buf.String())
	}
	for i := 1; i < len(changed); i++ {
		if changed[i] == changed[i-1] {
			t.Errorf("the same line twice in a row: %s", changed[i])
		}
	}
	if last := changed[len(changed)-1]; !strings.Contains(last, "failing=portal") {
		t.Errorf("last line does not name the failing link: %s", last)
	}
}
