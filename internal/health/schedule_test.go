package health

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

func TestSchedulerQuickAfterChangeSlowWhenWell(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	every := DefaultTiming().Every
	// All well with a session: the gateway probe sets the pace (Rand 0.5
	// makes the ±10 % jitter zero).
	if got := e.mon.nextWait(e.clock.Now()); got != every[Gateway] {
		t.Errorf("wait when well = %v, want %v", got, every[Gateway])
	}
	// A single failure asks for a quick recheck of it and every earlier link.
	e.tunnel.drops.Store(1)
	e.step()
	if got := e.mon.nextWait(e.clock.Now()); got != DefaultTiming().Quick {
		t.Errorf("wait after a failure = %v, want %v", got, DefaultTiming().Quick)
	}
	for _, p := range e.mon.probes[:4] {
		if p.next.After(e.clock.Now().Add(DefaultTiming().Quick)) {
			t.Errorf("%s not rechecked quickly after the gateway failed once", p.check.Code)
		}
	}
	e.steps(3)
	// A change (resume, network change) makes every link due at once.
	e.mon.Trigger("resume")
	e.mon.mu.Lock()
	pending := e.mon.pendingAll
	e.mon.mu.Unlock()
	if !pending {
		t.Fatal("Trigger did not mark the links due")
	}
	e.mon.round(context.Background())
	for _, p := range e.mon.probes {
		if !p.next.After(e.clock.Now().Add(DefaultTiming().Merge)) {
			t.Errorf("%s still due after the triggered round", p.check.Code)
		}
	}
	// Without a session the cheap local check sets the pace.
	e.mon.SessionEnded()
	e.step()
	if got := e.mon.nextWait(e.clock.Now()); got != every[LocalNetwork] {
		t.Errorf("wait without session = %v, want %v", got, every[LocalNetwork])
	}
}

// A session that starts between the loop's launch and its next sleep is
// the loop's to begin: until then its tunnel probes are not due (CI once
// saw Run sleep 0 s here).
func TestSessionStartedBetweenRoundsIsNotDueYet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mon.round(context.Background()) // the host links, no session yet
	e.mon.SessionStarted(e.tunnel, e.gwAddr)
	if got, want := e.mon.nextWait(e.clock.Now()), DefaultTiming().Every[LocalNetwork]; got != want {
		t.Errorf("wait before the loop saw the session = %v, want %v", got, want)
	}
	e.step()
	if got, want := e.mon.nextWait(e.clock.Now()), DefaultTiming().Every[Gateway]; got != want {
		t.Errorf("wait once the loop began the session = %v, want %v", got, want)
	}
}

func TestSchedulerMergesNearbyChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	svc := e.mon.probes[len(e.mon.probes)-1]
	gw := e.mon.probes[4]
	now := e.clock.Now()
	gw.next = now.Add(2 * time.Second)
	svc.next = now.Add(2*time.Second + 600*time.Millisecond)
	e.step()
	if !svc.next.After(now.Add(10 * time.Second)) {
		t.Errorf("service due %v after the gateway round at %v: not merged", svc.next, e.clock.Now())
	}
}

func TestRunWaitsOnOneTimerAndWakesOnTrigger(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	snaps, unsubscribe := e.store.Subscribe()
	defer unsubscribe()
	verdicts, unsubscribeVerdict := e.mon.SubscribeVerdict()
	defer unsubscribeVerdict()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.mon.Run(ctx) }()
	// The clock stands still in this test; what happens in it is woken by
	// probe answers and the trigger alone. Counting wake-ups as gateway
	// periods while moving the clock instead raced the gateway's real dial
	// against the other probes' answers, each of which is a wake-up too.
	timeout := time.After(20 * time.Second)

	// The first probes run at once; once all are back Run sleeps until the
	// next check is due, and never busy-loops.
	for s := (state.Snapshot{}); !allChecked(s.Health); {
		select {
		case s = <-snaps:
		case <-timeout:
			t.Fatalf("links %+v 20 s after Run started, want every host link checked", e.store.Snapshot().Health.Links)
		}
	}
	expectWait(t, e.clock.waits, timeout, DefaultTiming().Every[LocalNetwork], "after the first probes")

	// The trigger wakes Run before that timer, which this clock never
	// reaches: the session connects while the clock stands still.
	e.mon.SessionStarted(e.tunnel, e.gwAddr)
	for v := (Verdict{}); !v.Decided; {
		select {
		case v = <-verdicts:
		case <-timeout:
			t.Fatalf("session %v 20 s after it started, want connected", e.view().Session)
		}
	}
	if s := e.view().Session; s != state.Connected {
		t.Errorf("session %v, want connected", s)
	}
	expectWait(t, e.clock.waits, timeout, DefaultTiming().Every[Gateway], "with the session up")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// allChecked reports whether every link of h has a result.
func allChecked(h state.Health) bool {
	for _, l := range h.Links {
		if l.Skipped {
			return false
		}
	}
	return len(h.Links) > 0
}

// expectWait reads the monitor's sleeps until it asks for want; every
// sleep before must be positive (no busy loop) and fewer than 50.
func expectWait(tb testing.TB, waits <-chan time.Duration, timeout <-chan time.Time, want time.Duration, when string) {
	tb.Helper()
	for i := 0; ; i++ {
		var d time.Duration
		select {
		case d = <-waits:
		case <-timeout:
			tb.Fatalf("no wait of %v %s", want, when)
		}
		if d == want {
			return
		}
		if i == 50 || d <= 0 {
			tb.Fatalf("wait %d = %v %s, want %v and never a busy loop", i, d, when, want)
		}
	}
}

func TestClockOffFiveMinutes(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	pc, err := portal.New(portal.Config{BaseURL: env.URL, CAPEM: env.CAPEM})
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	t.Cleanup(pc.Close)
	local := func() time.Time { return env.Clock.Now().Add(5 * time.Minute) }

	r := ProbePortal(context.Background(), pc, local)
	if !r.OK || r.ClockOffset == nil {
		t.Fatalf("ProbePortal = %+v", r)
	}
	if off := *r.ClockOffset; off < 4*time.Minute || off > 6*time.Minute {
		t.Errorf("offset %v, want about +5m", off)
	}
	if r.Detail.Key != KeyClockOff || r.Detail.Args["Minutes"] != "5" || r.Detail.Args["Direction"] != "ahead" {
		t.Errorf("detail %+v, want clock 5 minutes ahead", r.Detail)
	}

	e := newEnv(t, func(d *Deps, c *Config) { d.Portal = pc })
	e.clock.now = local()
	e.start()
	s := e.view()
	if s.Health.ClockOffset == nil || *s.Health.ClockOffset < 240 || *s.Health.ClockOffset > 360 {
		t.Fatalf("Health.ClockOffset %v, want about 300 s", fmtOffset(s.Health.ClockOffset))
	}
	if d := s.Health.Diagnosis; d == nil || d.Key != KeyDiagClock || d.Args["Minutes"] != "5" {
		t.Errorf("diagnosis %+v, want the clock named", d)
	}
	if s.Session != state.Connected {
		t.Errorf("session %v: a wrong clock alone does not break the tunnel", s.Session)
	}
}

func TestProcRoutes(t *testing.T) {
	t.Parallel()
	const header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	const v4Default = "wlan0\t00000000\t0100A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
	const v4Subnet = "wlan0\t0000A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0\n"
	const v6Reject = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
	const v6Default = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000002 00000000 00000003     eth1\n"
	for _, tc := range []struct {
		name, v4, v6 string
		up           bool
		want         string // result detail key
	}{
		{"ipv4_default_route", header + v4Default + v4Subnet, "", true, KeyOK},
		{"no_default_route", header + v4Subnet, v6Reject, true, KeyNoRoute},
		{"ipv6_only_default", header, v6Reject + v6Default, true, KeyOK},
		{"interface_down", header + v4Default, "", false, KeyInterfaceDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, data := range map[string]string{"route": tc.v4, "ipv6_route": tc.v6} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatalf("WriteFile: %v", err)
				}
			}
			src := ProcRoutes{Root: dir, InterfaceUp: func(string) bool { return tc.up }}
			r := ProbeLocalNetwork(src)
			if r.Detail.Key != tc.want || r.OK != (tc.want == KeyOK) {
				t.Fatalf("ProbeLocalNetwork = %+v, want %s", r, tc.want)
			}
		})
	}
	t.Run("missing_files", func(t *testing.T) {
		t.Parallel()
		if _, err := (ProcRoutes{Root: t.TempDir()}).DefaultRoutes(); err == nil {
			t.Fatal("DefaultRoutes without files: no error")
		}
	})
}

func TestHistoryKeepsFifteenMinutes(t *testing.T) {
	t.Parallel()
	var h history
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for i := range 400 { // 400 × 5 s = 33 minutes, half of them dropped by the step
		h.add(state.Sample{At: start.Add(time.Duration(i) * 5 * time.Second), OK: true, Latency: float64(i)})
	}
	now := start.Add(399 * 5 * time.Second)
	got := h.since(now)
	if len(got) == 0 || now.Sub(got[0].At) > HistoryWindow {
		t.Fatalf("oldest sample %v at %v: beyond the window", got[0].At, now)
	}
	if want := int(HistoryWindow / historyStep); len(got) != want {
		t.Errorf("%d samples, want %d", len(got), want)
	}
	for i := 1; i < len(got); i++ {
		if !got[i].At.After(got[i-1].At) {
			t.Fatalf("samples out of order at %d", i)
		}
	}
	// A change of OK is recorded even within the step.
	if !h.add(state.Sample{At: now.Add(time.Second), OK: false}) {
		t.Error("failure right after a success not recorded")
	}
}

func TestTranslationKeysAreComplete(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, k := range TranslationKeys() {
		if seen[k] {
			t.Errorf("key %s listed twice", k)
		}
		seen[k] = true
		if !strings.HasPrefix(k, "health.") && k != KeyDiagUntrusted && k != KeyDiagCertificateClock {
			t.Errorf("key %s outside health.", k)
		}
	}
	for _, c := range Checks {
		if !seen[c.DiagKey()] || !seen[c.NextKey()] {
			t.Errorf("check %s lacks keys", c.Code)
		}
	}
}

func fmtOffset(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

// Without a session, a confirmed failure is rechecked every IdleRetry, not
// every 2 s: an offline laptop must not wake all day long.
func TestConfirmedFailureWithoutSessionRetriesSlowly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.mon.SessionEnded()
	e.offline.Store(true)
	e.steps(6) // fail, quick recheck, confirm
	internet := e.mon.probes[1]
	if !internet.down {
		t.Fatalf("internet not confirmed down after %d failures", internet.fails)
	}
	// The steps after the confirmation moved the clock on a little.
	if got := internet.next.Sub(e.clock.Now()); got <= 2*DefaultTiming().Retry || got > DefaultTiming().IdleRetry {
		t.Errorf("next internet check in %v without a session, want up to %v and well over %v", got, DefaultTiming().IdleRetry, DefaultTiming().Retry)
	}
}

func TestConfigFromProfileTakesTheCaptiveProbe(t *testing.T) {
	t.Parallel()
	p := &profile.Profile{PortalURL: "https://portal.example:8443/", CaptiveProbeURL: "http://probe.example/204", OfficeDNSName: "intranet.example"}
	cfg := ConfigFromProfile(p)
	if cfg.Captive.URL != "http://probe.example/204" {
		t.Errorf("Captive = %+v", cfg.Captive)
	}
	if want := append([]string{"probe.example:80"}, DefaultInternetTargets...); !slices.Equal(cfg.InternetTargets, want) {
		t.Errorf("InternetTargets = %v, want %v", cfg.InternetTargets, want)
	}
	if ConfigFromProfile(&profile.Profile{PortalURL: "https://p.example/"}).Captive.URL != "" {
		t.Error("a captive probe without one in the profile")
	}
}

// The internet check never targets the portal's host: an outage of the
// portal must not read as "no internet, restart your router" (issue 13,
// #10).
func TestInternetTargetsAreNotThePortal(t *testing.T) {
	t.Parallel()
	for _, p := range []*profile.Profile{
		{PortalURL: "https://portal.example:8443/"},
		{PortalURL: "https://portal.example/", CaptiveProbeURL: "http://probe.example:8080/204"},
		{PortalURL: "https://portal.example/", InternetTargets: []string{"192.0.2.7:443", "check.example:80"}},
	} {
		cfg := ConfigFromProfile(p)
		if len(cfg.InternetTargets) == 0 {
			t.Errorf("profile %+v: no internet targets", p)
		}
		for _, target := range cfg.InternetTargets {
			if strings.HasPrefix(target, "portal.example:") {
				t.Errorf("profile %+v: internet target %s is the portal", p, target)
			}
		}
		if len(p.InternetTargets) > 0 && !slices.Equal(cfg.InternetTargets, p.InternetTargets) {
			t.Errorf("InternetTargets = %v, want the profile's %v", cfg.InternetTargets, p.InternetTargets)
		}
	}
}

// A portal whose certificate the pinned CA did not sign is "not
// trustworthy", in the wizard's words, not "not answering"; the session
// through a working tunnel stays up.
func TestPortalWithUntrustedCertificate(t *testing.T) {
	t.Parallel()
	real := portaltest.Start(t, portaltest.Options{})
	other := portaltest.Start(t, portaltest.Options{})
	pc, err := portal.New(portal.Config{BaseURL: real.URL, CAPEM: other.CAPEM})
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	t.Cleanup(pc.Close)

	// Literal keys: they are the wording contract with the translations.
	r := ProbePortal(context.Background(), pc, time.Now)
	if r.OK || r.Detail.Key != "health.detail.untrusted" {
		t.Errorf("ProbePortal with a foreign CA = %+v, want health.detail.untrusted", r)
	}

	e := newEnv(t, func(d *Deps, c *Config) { d.Portal = pc })
	e.mon.SessionStarted(e.tunnel, e.gwAddr)
	s := e.steps(4)
	if d := s.Health.Diagnosis; d == nil || d.Key != KeyDiagUntrusted {
		t.Errorf("diagnosis %+v, want the wizard's portal.error.certificate", d)
	}
	if l := link(t, s.Health, Portal, ""); l.OK || l.Detail.Key != "health.detail.untrusted" {
		t.Errorf("portal link %+v, want health.detail.untrusted", l)
	}
	if s.Session != state.Connected {
		t.Errorf("session %v: the portal's certificate does not concern the tunnel", s.Session)
	}
}

// A recheck asked for while a probe is out must not be lost when the
// probe comes back: its answer may predate the reason, so the link is due
// again at once, whatever it answered, instead of in five minutes (a
// portal that went away just after its probe started stayed green) or in
// IdleRetry (a network that came back stayed red).
func TestTriggerWhileProbeIsOutChecksAgain(t *testing.T) {
	t.Parallel()
	// outWhile launches every link, lets the probes answer, then calls
	// change and triggers before their answers are applied.
	outWhile := func(e *env, change func()) []*probe {
		e.t.Helper()
		ctx := context.Background()
		e.mon.Trigger("first")
		n := e.mon.launch(ctx)
		answers := make([]done, 0, n)
		for range n {
			answers = append(answers, <-e.mon.results)
		}
		change()
		e.mon.Trigger("changed")
		if started := e.mon.launch(ctx); started != 0 {
			e.t.Fatalf("launch started %d probes while all were out", started)
		}
		var out []*probe
		for _, d := range answers {
			out = append(out, d.p)
			e.mon.apply(d)
		}
		now := e.clock.Now()
		for _, p := range out {
			if p.next.After(now) {
				e.t.Errorf("%s answered from before the trigger and is next due in %v, want at once", p.check.Code, p.next.Sub(now))
			}
		}
		return out
	}

	t.Run("portal_went_away", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.start()
		outWhile(e, func() { e.portalUp.Store(false) })
		s := e.steps(2) // a failure, its quick recheck
		if d := s.Health.Diagnosis; d == nil || d.Key != KeyDiagPortalSession {
			t.Errorf("diagnosis %+v two rounds after the trigger, want the portal named", d)
		}
		if s.Session != state.Connected {
			t.Errorf("session %v, want connected", s.Session)
		}
	})

	t.Run("network_came_back", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.start()
		e.mon.SessionEnded()
		e.offline.Store(true)
		e.steps(6) // fail, quick recheck, confirm
		outWhile(e, func() { e.offline.Store(false) })
		s := e.step()
		if l := link(t, s.Health, Internet, ""); !l.OK || l.Skipped {
			t.Errorf("internet %+v one round after the network came back, want it green", l)
		}
	})

	// An answer dropped because its session is over settles the recheck
	// too: the new session's first probe is not repeated for nothing.
	t.Run("dropped_answer_settles_it", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.start()
		ctx := context.Background()
		e.mon.Trigger("first")
		n := e.mon.launch(ctx)
		e.mon.Trigger("while out")
		e.mon.SessionStarted(e.tunnel, e.gwAddr) // the session restarts
		n += e.mon.launch(ctx)
		for range n {
			e.mon.apply(<-e.mon.results)
		}
		n = e.mon.launch(ctx) // the new session's tunnel probes
		for range n {
			e.mon.apply(<-e.mon.results)
		}
		gw := e.mon.probes[4]
		if gw.check.Code != Gateway {
			t.Fatalf("probe 4 is %s", gw.check.Code)
		}
		if want := e.clock.Now().Add(DefaultTiming().Every[Gateway]); !gw.next.Equal(want) {
			t.Errorf("gateway next due in %v after the new session's first answer, want %v", gw.next.Sub(e.clock.Now()), DefaultTiming().Every[Gateway])
		}
	})
}
