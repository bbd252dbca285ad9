package health

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Cover is an announcement that explains a failing link.
type Cover struct {
	// Outage is true for an outage, false for a maintenance.
	Outage bool
	Title  string
	// Until is the end of the announcement's validity; zero if open.
	Until time.Time
}

// Announcements tells whether IT announced a maintenance or outage that
// covers a part of the connection. It is declared here so health does not
// depend on internal/announce; the agent adapts (*announce.Poller).Covering.
// Implementations must be safe for concurrent use.
type Announcements interface {
	Covering(component string, now time.Time) (Cover, bool)
}

// Config is what the monitor checks. Zero fields leave a check out.
type Config struct {
	// InternetTargets are host:port that show the internet works when
	// one of them accepts a connection. They must not be the portal's
	// host: the internet and the portal link have to fail apart.
	InternetTargets []string
	// Captive is the captive-portal probe; an empty URL leaves it out.
	Captive CaptiveProbe
	// OfficeDNSName must resolve through the tunnel.
	OfficeDNSName string
	// Services are the office services from the profile.
	Services []profile.HealthTarget
	// Desktops are the office desktops from the profile.
	Desktops []profile.OfficeDesktop
	// Phone is the helpdesk's number for diagnoses.
	Phone string
	// Location formats times in diagnoses ("bis 14:00"); nil is Local.
	Location *time.Location
	Timing   Timing
}

// DefaultInternetTargets are what the internet check connects to when
// the profile names none: the connectivity checks of three unrelated
// operators (Google, Microsoft, Mozilla), which every phone and desktop
// asks anyway. Any one answering is enough.
var DefaultInternetTargets = []string{
	"connectivitycheck.gstatic.com:80",
	"www.msftconnecttest.com:80",
	"detectportal.firefox.com:80",
}

// ConfigFromProfile fills Config from the organisation profile. The
// internet targets are the profile's internet_targets, or else the
// captive probe's host and DefaultInternetTargets; never the portal's
// host, whose outage is the portal link's to report (issue 13, #10).
func ConfigFromProfile(p *profile.Profile) Config {
	cfg := Config{
		OfficeDNSName: p.OfficeDNSName,
		Services:      append([]profile.HealthTarget(nil), p.HealthTargets...),
		Desktops:      append([]profile.OfficeDesktop(nil), p.OfficeDesktops...),
		Phone:         p.Helpdesk.Phone,
	}
	if p.CaptiveProbeURL != "" {
		cfg.Captive = CaptiveProbe{URL: p.CaptiveProbeURL}
	}
	cfg.InternetTargets = append([]string(nil), p.InternetTargets...)
	if len(cfg.InternetTargets) == 0 {
		if u, err := url.Parse(p.CaptiveProbeURL); err == nil && u.Hostname() != "" {
			port := u.Port()
			if port == "" {
				port = "80"
			}
			cfg.InternetTargets = append(cfg.InternetTargets, net.JoinHostPort(u.Hostname(), port))
		}
		cfg.InternetTargets = append(cfg.InternetTargets, DefaultInternetTargets...)
	}
	return cfg
}

// Timing tunes the scheduler. Zero fields take DefaultTiming's values.
type Timing struct {
	// Every is the interval per check code while the check passes.
	Every map[string]time.Duration
	// Quick is the recheck after a single failure (and after a change).
	Quick time.Duration
	// Retry is the recheck of a confirmed failure while a session is up;
	// IdleRetry without one, when nothing waits on a quick answer and an
	// offline laptop should not wake every 2 s all day.
	Retry, IdleRetry time.Duration
	// Merge runs checks due within this much of each other together, so
	// they share one wake-up.
	Merge time.Duration
	// Timeout bounds one probe; GatewayTimeout the gateway probe, which
	// is short because it decides how fast a lost gateway is noticed.
	Timeout, GatewayTimeout time.Duration
	// FailAfter consecutive failures confirm a failure. One lost probe
	// among good ones must not flap the state.
	FailAfter int
	// Slow is the latency beyond which an office service counts as slow.
	Slow time.Duration
}

// DefaultTiming is tuned for the targets in issue 6: a lost gateway is
// shown within about 5 s (probe every 2 s, 1 s timeout, one quick
// recheck), its return within about 3 s (confirmed failures are retried
// every 2 s and one success recovers); the rest is probed rarely since a
// working gateway already proves the internet works.
func DefaultTiming() Timing {
	return Timing{
		Every: map[string]time.Duration{
			LocalNetwork:   10 * time.Second,
			Internet:       5 * time.Minute,
			CaptivePortal:  5 * time.Minute,
			Portal:         5 * time.Minute,
			Gateway:        2 * time.Second,
			OfficeDNS:      30 * time.Second,
			OfficeServices: 30 * time.Second,
			OfficeDesktop:  30 * time.Second,
		},
		Quick:          500 * time.Millisecond,
		Retry:          2 * time.Second,
		IdleRetry:      30 * time.Second,
		Merge:          time.Second,
		Timeout:        5 * time.Second,
		GatewayTimeout: time.Second,
		FailAfter:      2,
		Slow:           1500 * time.Millisecond,
	}
}

func (t Timing) withDefaults() Timing {
	d := DefaultTiming()
	every := map[string]time.Duration{}
	for k, v := range d.Every {
		every[k] = v
	}
	for k, v := range t.Every {
		if v > 0 {
			every[k] = v
		}
	}
	t.Every = every
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.Quick, &d.Quick}, {&t.Retry, &d.Retry}, {&t.IdleRetry, &d.IdleRetry}, {&t.Merge, &d.Merge}, {&t.Timeout, &d.Timeout}, {&t.GatewayTimeout, &d.GatewayTimeout},
		{&t.Slow, &d.Slow},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if t.FailAfter <= 0 {
		t.FailAfter = d.FailAfter
	}
	return t
}

// Deps are what the monitor uses. Nil fields take the noted defaults.
type Deps struct {
	// Store receives the chain; required.
	Store *state.Store
	// Clock; nil means SystemClock.
	Clock Clock
	// Routes; nil means SystemRoutes().
	Routes RouteSource
	// Dial is the host's dialer for the internet and captive checks; nil
	// means HostDial.
	Dial DialFunc
	// Portal; nil leaves the portal check out.
	Portal PortalClient
	// Announcements; nil means none.
	Announcements Announcements
	// Rand returns a number in [0,1) for jitter; nil means math/rand/v2.
	Rand func() float64
	// Log; nil discards.
	Log *slog.Logger
}

// probe is the scheduler's view of one link. It is owned by the loop.
type probe struct {
	check  Check
	target profile.HealthTarget  // office services only
	desk   profile.OfficeDesktop // office desktops only
	next   time.Time
	fails  int    // consecutive failures
	seen   bool   // has a confirmed result
	down   bool   // confirmed failing
	shown  Result // what the chain shows
	hist   *history
	// blocked: an earlier link fails, so this one is not probed.
	blocked bool
	// running: a probe is out; its result comes back on Monitor.results.
	running bool
	// recheck: Trigger asked for a check while the probe was out. Its
	// answer may predate the reason (the portal went away just after it
	// started), so whatever it says, the link is due again once it is back.
	recheck bool
}

func (p *probe) component() string {
	switch p.check.Code {
	case OfficeServices:
		return OfficeServices + ":" + p.target.Name
	case OfficeDesktop:
		return OfficeDesktop + ":" + p.desk.Name
	}
	return p.check.Component
}

// Monitor runs the health chain. Its methods are safe for concurrent
// use; Run must be called once.
type Monitor struct {
	deps    Deps
	cfg     Config
	t       Timing
	clock   Clock
	log     *slog.Logger
	probes  []*probe
	hostHC  *http.Client
	trigger chan struct{}
	// results carries finished probes back to the loop; one slot per
	// probe, so a probe never blocks on a busy loop.
	results chan done

	mu         sync.Mutex
	tunnel     Tunnel
	gwProbe    string
	gen        uint64 // counts SessionStarted/SessionEnded
	active     bool
	pendingAll bool
	reasons    []string
	verdict    Verdict
	verdictSub map[chan Verdict]struct{}

	// Owned by the loop.
	loopGen      uint64
	loopActive   bool
	svcHC        *http.Client
	gatewayWasOK bool // in this session
	pub          state.Health
	pubAt        time.Time
	clockOffset  *float64
	logged       string // what the last "health changed" line said
}

// New returns a monitor; call Run to start it.
func New(deps Deps, cfg Config) *Monitor {
	if deps.Clock == nil {
		deps.Clock = SystemClock{}
	}
	if deps.Routes == nil {
		deps.Routes = SystemRoutes()
	}
	if deps.Dial == nil {
		deps.Dial = HostDial
	}
	if deps.Rand == nil {
		deps.Rand = rand.Float64
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	m := &Monitor{
		deps:       deps,
		cfg:        cfg,
		t:          cfg.Timing.withDefaults(),
		clock:      deps.Clock,
		log:        deps.Log,
		hostHC:     NoRedirects(deps.Dial),
		trigger:    make(chan struct{}, 1),
		pendingAll: true,
		verdictSub: map[chan Verdict]struct{}{},
	}
	for _, c := range Checks {
		switch c.Code {
		case Internet:
			if len(cfg.InternetTargets) == 0 {
				continue
			}
		case CaptivePortal:
			if cfg.Captive.URL == "" {
				continue
			}
		case Portal:
			if deps.Portal == nil {
				continue
			}
		case OfficeDNS:
			if cfg.OfficeDNSName == "" {
				continue
			}
		case OfficeServices:
			for _, t := range cfg.Services {
				m.probes = append(m.probes, &probe{check: c, target: t, hist: &history{}})
			}
			continue
		case OfficeDesktop:
			for _, d := range cfg.Desktops {
				m.probes = append(m.probes, &probe{check: c, desk: d, hist: &history{}})
			}
			continue
		}
		m.probes = append(m.probes, &probe{check: c})
	}
	m.results = make(chan done, len(m.probes))
	return m
}

// Trigger asks for a quick check of every link after a change: a network
// change, resume from sleep. It never blocks.
func (m *Monitor) Trigger(reason string) {
	m.mu.Lock()
	m.pendingAll = true
	if len(m.reasons) < 8 {
		m.reasons = append(m.reasons, reason)
	}
	m.mu.Unlock()
	select {
	case m.trigger <- struct{}{}:
	default:
	}
}

// SessionStarted tells the monitor that the session controller brought
// the tunnel up. From now on the tunnel-side links are checked and the
// Verdict speaks about them. gatewayProbe is a host:port in the office
// network (e.g. the office DNS server's port 53) that the gateway check
// connects to. The monitor only observes: reconnecting is the session's.
func (m *Monitor) SessionStarted(t Tunnel, gatewayProbe string) {
	m.mu.Lock()
	m.tunnel, m.gwProbe, m.active = t, gatewayProbe, true
	m.gen++
	m.mu.Unlock()
	m.Trigger("session started")
}

// SessionEnded tells the monitor the session is over; it stops checking
// the tunnel.
func (m *Monitor) SessionEnded() {
	m.mu.Lock()
	m.tunnel, m.gwProbe, m.active = nil, "", false
	m.gen++
	m.mu.Unlock()
	m.Trigger("session ended")
}

// Run checks until ctx ends. One timer at a time; nothing runs between
// its wake-ups.
func (m *Monitor) Run(ctx context.Context) error {
	for {
		m.launch(ctx)
		ch, stop := m.clock.NewTimer(m.nextWait(m.clock.Now()))
		select {
		case <-ctx.Done():
			stop()
			return nil
		case <-ch:
		case <-m.trigger:
			stop()
		case d := <-m.results:
			stop()
			m.publish(m.clock.Now(), m.apply(d))
		}
	}
}

// jitter spreads d by ±10 % so laptops woken together do not probe the
// portal in step.
func (m *Monitor) jitter(d time.Duration) time.Duration {
	return backoff.Spread(d, 0.1, m.deps.Rand)
}

// nextWait is how long until the earliest due probe.
// It reads the session as the loop last saw it (loopActive), not as
// SessionStarted just set it: the tunnel probes of a session the loop has
// not begun yet are not due, and counting them as never probed made Run
// sleep 0 s once.
func (m *Monitor) nextWait(now time.Time) time.Duration {
	active := m.loopActive
	var earliest time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (earliest.IsZero() || t.Before(earliest)) {
			earliest = t
		}
	}
	for _, p := range m.probes {
		if (p.check.Tunnel && !active) || p.blocked || p.running {
			continue
		}
		if p.next.IsZero() {
			return 0 // never probed
		}
		consider(p.next)
	}
	if earliest.IsZero() {
		return time.Hour
	}
	return max(earliest.Sub(now), 0)
}

// done is the outcome of one probe, sent back to the loop.
type done struct {
	p   *probe
	r   Result
	gen uint64
}

// round launches the due probes, waits for them and publishes once; the
// tests step the monitor with it. Run does the same without waiting, so
// a slow probe (a service behind a lost tunnel) never delays the next
// gateway probe.
func (m *Monitor) round(ctx context.Context) {
	n := m.launch(ctx)
	changed := false
	for range n {
		changed = m.apply(<-m.results) || changed
	}
	m.publish(m.clock.Now(), changed)
}

// launch starts the due probes, each on its own goroutine, and returns
// how many it started.
func (m *Monitor) launch(ctx context.Context) int {
	now := m.clock.Now()
	m.mu.Lock()
	tun, gwProbe, active, gen, all, reasons := m.tunnel, m.gwProbe, m.active, m.gen, m.pendingAll, m.reasons
	m.pendingAll, m.reasons = false, nil
	m.mu.Unlock()
	if len(reasons) > 0 {
		m.log.Debug("health check requested", "reasons", reasons)
	}
	if gen != m.loopGen {
		m.newSession(now, tun, active)
		m.loopGen, m.loopActive = gen, active
	}
	// What a probe uses of the loop's state is captured here, like tun and
	// gwProbe: a later round may begin a new session (newSession replaces
	// svcHC) while this probe is still out.
	svcHC := m.svcHC
	if all {
		for _, p := range m.probes {
			p.next = now
			if p.running {
				p.recheck = true
			}
		}
	}

	// Choose the due probes. A link behind a confirmed hard failure is
	// not probed: it would fail too and the diagnosis names the first.
	// The tunnel is the exception: it runs over the internet, so a
	// gateway that answers proves the laptop is online whatever the
	// host-side checks say. The gateway is therefore always probed during
	// a session, and while it answers, a host-side failure blocks nothing
	// (issue 13, #10).
	started := 0
	hostDown, tunnelDown := false, false // a confirmed hard failure so far
	tunnelWorks := m.tunnelWorks()
	for _, p := range m.probes {
		if p.check.Tunnel && !active {
			continue
		}
		blocked := hostDown && !tunnelWorks
		if p.check.Tunnel {
			blocked = tunnelDown || (blocked && p.check.Code != Gateway)
		}
		if blocked {
			if !p.blocked {
				p.blocked, p.seen, p.down, p.fails = true, false, false, 0
			}
			continue
		}
		if p.blocked {
			p.blocked, p.next = false, now
		}
		if p.down && p.check.Severity >= SeverityProblem {
			if p.check.Tunnel {
				tunnelDown = true
			} else {
				hostDown = true
			}
		}
		if p.running || p.next.After(now.Add(m.t.Merge)) {
			continue
		}
		p.running = true
		started++
		go func() {
			limit := m.t.Timeout
			if p.check.Code == Gateway {
				limit = m.t.GatewayTimeout
			}
			pctx, cancel := context.WithTimeout(ctx, limit)
			defer cancel()
			r := m.probe(pctx, p, tun, gwProbe, svcHC)
			m.log.Debug("health probe", "link", p.check.Code, "target", p.target.Name, "result", errString(r))
			m.results <- done{p: p, r: r, gen: gen}
		}()
	}
	return started
}

// apply feeds one probe's outcome through the hysteresis. It reports
// whether a history sample was recorded.
func (m *Monitor) apply(d done) bool {
	p, r := d.p, d.r
	// The probe is back: a recheck asked for while it was out is settled
	// here, also when its answer is dropped below (then newSession has
	// made the link due already).
	recheck := p.recheck
	p.running, p.recheck = false, false
	if d.gen != m.loopGen && p.check.Tunnel {
		return false // from a session that is over
	}
	now := m.clock.Now()
	historyChanged := false
	if p.hist != nil {
		historyChanged = p.hist.add(state.Sample{At: now, OK: r.OK, Latency: msf(r.Latency)})
	}
	if r.ClockOffset != nil {
		s := r.ClockOffset.Seconds()
		m.clockOffset = &s
	}
	m.schedule(p, r, now)
	if recheck {
		p.next = now
	}
	return historyChanged
}

// schedule counts r in p's hysteresis and sets when p is due next.
func (m *Monitor) schedule(p *probe, r Result, now time.Time) {
	if r.OK {
		p.fails, p.down, p.seen, p.shown = 0, false, true, r
		p.next = now.Add(m.jitter(m.t.Every[p.check.Code]))
		if p.check.Code == Gateway {
			m.gatewayWasOK = true
		}
		return
	}
	p.fails++
	if p.fails >= m.t.FailAfter {
		p.down, p.seen, p.shown = true, true, r
		retry := m.t.Retry
		if !m.loopActive {
			// m.active belongs to SessionStarted and SessionEnded, which
			// run on other goroutines; the loop keeps its own copy.
			retry = m.t.IdleRetry
		}
		p.next = now.Add(retry)
		return
	}
	// A single failure: recheck soon, together with every earlier link,
	// so a confirmed failure comes with the right first link.
	p.next = now.Add(m.t.Quick)
	for _, q := range m.probes {
		if q == p {
			break
		}
		if q.next.After(now.Add(m.t.Quick)) {
			q.next = now.Add(m.t.Quick)
		}
	}
}

// newSession resets the tunnel-side links when a session starts or ends.
func (m *Monitor) newSession(now time.Time, tun Tunnel, active bool) {
	for _, p := range m.probes {
		if p.check.Tunnel {
			p.seen, p.down, p.fails, p.blocked, p.next = false, false, 0, false, now
			p.shown = Result{}
			if p.hist != nil {
				*p.hist = history{}
			}
		}
	}
	m.gatewayWasOK = false
	m.svcHC = nil
	if active && tun != nil {
		m.svcHC = NoRedirects(tun.DialContext)
	}
}

// probe runs on a goroutine of its own: it reads only what launch
// captured and what does not change after New.
func (m *Monitor) probe(ctx context.Context, p *probe, tun Tunnel, gwProbe string, svcHC *http.Client) Result {
	if p.check.Tunnel && tun == nil {
		return fail(KeyTunnelDown, nil)
	}
	switch p.check.Code {
	case LocalNetwork:
		return ProbeLocalNetwork(m.deps.Routes)
	case Internet:
		return ProbeInternet(ctx, m.deps.Dial, m.cfg.InternetTargets)
	case CaptivePortal:
		return ProbeCaptive(ctx, m.hostHC, m.cfg.Captive)
	case Portal:
		return ProbePortal(ctx, m.deps.Portal, m.clock.Now)
	case Gateway:
		return ProbeGateway(ctx, tun, gwProbe, m.clock.Now())
	case OfficeDNS:
		return ProbeOfficeDNS(ctx, tun.LookupHost, m.cfg.OfficeDNSName)
	case OfficeServices:
		return ProbeService(ctx, tun.DialContext, svcHC, p.target, m.t.Slow)
	case OfficeDesktop:
		return ProbeDesktop(ctx, tun.DialContext, p.desk, m.t.Slow)
	}
	return fail(KeyFailed, nil)
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// verdict is what the chain means: the first link to name, and the
// session state while a session is up.
type verdict struct {
	first   *probe // first confirmed failure that matters most, or nil
	slow    *probe // first slow office service
	session state.Session
	// decided is false while the session state is not yet known
	// (Connecting until the gateway answered once).
	decided bool
}

// tunnelWorks reports whether a session is up and its gateway answered
// the last probes: then the laptop is online, whatever the host-side
// checks say. Owned by the loop.
func (m *Monitor) tunnelWorks() bool {
	if !m.loopActive {
		return false
	}
	for _, p := range m.probes {
		if p.check.Code == Gateway {
			return p.seen && !p.down && !p.blocked
		}
	}
	return false
}

func (m *Monitor) judge(active bool) verdict {
	var v verdict
	var notice *probe
	tunnelWorks := active && m.tunnelWorks()
	for _, p := range m.probes {
		if (p.check.Tunnel && !active) || p.blocked || !p.seen {
			continue
		}
		if p.down {
			if tunnelWorks && !p.check.Tunnel && p.check.Severity >= SeverityProblem {
				// Contradicted by the tunnel, which runs over this very
				// internet: shown in the chain, but it neither names the
				// problem nor downgrades a working session (e.g. the
				// check's hosts are blocked by the network).
				continue
			}
			if p.check.Severity == SeverityNotice {
				if notice == nil {
					notice = p
				}
				continue
			}
			if v.first == nil {
				v.first = p
			}
		} else if p.shown.Slow && v.slow == nil {
			v.slow = p
		}
	}
	switch {
	case v.first != nil:
		v.session, v.decided = v.first.check.Severity.Session(), true
	case !m.gatewayWasOK:
		// Connecting: the gateway has not answered yet.
	case v.slow != nil:
		v.session, v.decided = state.Limited, true
	default:
		v.session, v.decided = state.Connected, true
	}
	if v.first == nil {
		v.first = notice
	}
	return v
}

// diagnosis names the first failing link in plain words.
func (m *Monitor) diagnosis(v verdict, now time.Time) *state.Message {
	args := map[string]string{"Phone": m.cfg.Phone}
	p := v.first
	if p == nil {
		if v.slow != nil {
			if v.slow.check.Code == OfficeDesktop {
				args["Desktop"] = v.slow.desk.Name
				return &state.Message{Key: KeyDiagDesktopSlow, Args: args}
			}
			args["Service"] = v.slow.target.Name
			return &state.Message{Key: KeyDiagServiceSlow, Args: args}
		}
		if m.clockOffset != nil && (*m.clockOffset > authcode.MaxClockSkew.Seconds() || *m.clockOffset < -authcode.MaxClockSkew.Seconds()) {
			for k, v := range clockArgs(time.Duration(*m.clockOffset * float64(time.Second))) {
				args[k] = v
			}
			return &state.Message{Key: KeyDiagClock, Args: args}
		}
		return nil
	}
	if p.check.Code == OfficeDesktop {
		args["Desktop"] = p.desk.Name
	}
	if p.shown.Diag != "" && p.check.Code != OfficeDesktop {
		// Said before any announcement: an untrusted certificate may
		// be an attack, and no maintenance explains it.
		return &state.Message{Key: p.shown.Diag, Args: args}
	}
	if m.deps.Announcements != nil {
		if c, ok := m.deps.Announcements.Covering(p.component(), now); ok {
			args["Title"] = c.Title
			key := KeyDiagMaintenance
			if c.Outage {
				key = KeyDiagOutage
			}
			if !c.Until.IsZero() {
				key += "_until"
				args["Until"] = untilText(c.Until, now, m.cfg.Location)
			}
			return &state.Message{Key: key, Args: args}
		}
	}
	if p.shown.Diag != "" {
		// A desktop that is slow or loses large packets during an
		// announced maintenance is explained by it, above.
		return &state.Message{Key: p.shown.Diag, Args: args}
	}
	switch p.check.Code {
	case CaptivePortal:
		args["URL"] = p.shown.LoginURL
	case Portal:
		if m.loopActive && m.tunnelWorks() {
			// The session does not need the portal until it ends.
			return &state.Message{Key: KeyDiagPortalSession, Args: args}
		}
	case OfficeServices:
		args["Service"] = p.target.Name
		return &state.Message{Key: KeyDiagService, Args: args}
	}
	return &state.Message{Key: p.check.DiagKey(), Args: args}
}

// untilText is "14:00" today, else "24.12. 14:00".
func untilText(t, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	if y, mo, d := t.Date(); y == now.Year() && mo == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("02.01. 15:04")
}

// links renders the chain as the store shows it.
func (m *Monitor) links(now time.Time, active bool) []state.Link {
	var out []state.Link
	for _, p := range m.probes {
		if p.check.Tunnel && !active {
			continue
		}
		l := state.Link{Code: p.check.Code}
		switch p.check.Code {
		case OfficeServices:
			l.Target = p.target.Name
			l.History = p.hist.since(now)
		case OfficeDesktop:
			l.Target = p.desk.Name
			l.History = p.hist.since(now)
		}
		switch {
		case p.blocked || !p.seen:
			l.Skipped = true
			l.Detail = state.Message{Key: KeySkipped}
		default:
			l.OK = !p.down
			l.Detail = state.Message{Key: p.shown.Detail.Key, Args: cloneArgs(p.shown.Detail.Args)}
			if l.OK && (p.check.Code == OfficeServices || p.check.Code == OfficeDesktop) {
				l.Latency = msf(p.shown.Latency)
			}
		}
		out = append(out, l)
	}
	return out
}

func cloneArgs(a map[string]string) map[string]string {
	if a == nil {
		return nil
	}
	c := make(map[string]string, len(a))
	for k, v := range a {
		c[k] = v
	}
	return c
}

// refreshEvery bounds how stale CheckedAt may get while nothing changes;
// between changes the monitor does not publish, so the tray and windows
// are not woken by every gateway probe.
const refreshEvery = time.Minute

// publish writes the chain to the store if anything visible changed, and
// the verdict to its subscribers if it changed.
func (m *Monitor) publish(now time.Time, historyChanged bool) {
	active := m.loopActive
	v := m.judge(active)
	m.setVerdict(m.verdictOf(v, active))
	h := state.Health{
		Links:       m.links(now, active),
		Diagnosis:   m.diagnosis(v, now),
		ClockOffset: m.clockOffset,
		ChangedAt:   m.pub.ChangedAt,
	}
	if m.clockOffset != nil {
		off := *m.clockOffset
		h.ClockOffset = &off
	}
	changed := !sameChain(h, m.pub)
	if changed {
		h.ChangedAt = now
	}
	if m.deps.Store != nil && (changed || historyChanged || now.Sub(m.pubAt) >= refreshEvery) {
		h.CheckedAt = now
		m.deps.Store.Update(func(sn *state.Snapshot) { sn.Health = h })
		m.pubAt = now
	}
	if changed {
		m.logChange(v.session, h)
	}
	m.pub = h
}

// logChange writes "health changed" when what the line says changed: the
// state, the diagnosis or the failing links. Run publishes after every
// probe, and links going from unchecked to fine (three of them at start)
// used to repeat the same line.
func (m *Monitor) logChange(session state.Session, h state.Health) {
	diagnosis := ""
	if h.Diagnosis != nil {
		diagnosis = h.Diagnosis.Key
	}
	var failing []string
	for _, l := range h.Links {
		if !l.OK && !l.Skipped {
			failing = append(failing, l.Code)
		}
	}
	line := fmt.Sprint(session, diagnosis, failing)
	if line == m.logged {
		m.log.Debug("health links changed", "links", len(h.Links))
		return
	}
	m.logged = line
	m.log.Info("health changed", "session", session, "diagnosis", diagnosis, "failing", strings.Join(failing, ","))
}

// sameChain compares what the employee sees, not when it was checked.
func sameChain(a, b state.Health) bool {
	strip := func(h state.Health) state.Health {
		h.CheckedAt, h.ChangedAt = time.Time{}, time.Time{}
		h.Links = append([]state.Link(nil), h.Links...)
		for i := range h.Links {
			h.Links[i].History = nil
			h.Links[i].Latency = 0
			switch h.Links[i].Detail.Key {
			case KeyLatency, KeySlow, KeyHandshake, KeyResolved:
				h.Links[i].Detail.Args = nil
			}
		}
		return h
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// PortalFunc adapts a function to PortalClient.
type PortalFunc func(ctx context.Context) (time.Time, error)

// Health calls f.
func (f PortalFunc) Health(ctx context.Context) (time.Time, error) { return f(ctx) }

// AnnouncementsFunc adapts a function to Announcements.
type AnnouncementsFunc func(component string, now time.Time) (Cover, bool)

// Covering calls f.
func (f AnnouncementsFunc) Covering(component string, now time.Time) (Cover, bool) {
	return f(component, now)
}
