// Package portalsrv is the reference portal server: enrollment with
// activation code and authenticator app, device registration, daily session
// authorisation, announcements and release manifests over HTTPS. The API is
// docs/api/openapi.yaml; its wire types live in internal/portal/api.
package portalsrv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// Config tunes the server. Zero fields take the documented defaults.
type Config struct {
	// Issuer is shown in authenticator apps, e.g. "Stadt Musterstadt".
	Issuer string
	// Tunnel describes the gateway and the addresses devices get.
	Tunnel TunnelConfig
	// SessionEnd is the local wall-clock time at which a day's session
	// authorisation ends, as an offset from midnight. Default 20:00.
	SessionEnd time.Duration
	// Location is the organisation's time zone. nil means time.Local.
	Location *time.Location
	// MinSession is the least a session lasts when authorised late in the
	// day (after SessionEnd or just before). Default 2h.
	MinSession time.Duration
	// Hours are the working-hours rules per group; nil means home office
	// at any time, ending at SessionEnd.
	Hours *Hours
	// EnrollmentTTL is how long a started, unconfirmed enrollment lives.
	// Default 24h.
	EnrollmentTTL time.Duration
	// RegistrationWindow is how long after confirmation the enrollment id
	// may register a device. Default 7 days.
	RegistrationWindow time.Duration
	// AutoSessionWindow: a device registered this soon after the
	// confirmation is admitted for the day without another code, because
	// the user has just proven the factor. Default 15 minutes.
	AutoSessionWindow time.Duration
	// LockAfter failed checks within LockWindow lock the user for LockFor.
	// Defaults 5, 5 minutes, 5 minutes.
	LockAfter  int
	LockWindow time.Duration
	LockFor    time.Duration
	// SourceBurst failed activation codes from one source address (an
	// IPv4 address or an IPv6 /64) are checked in a row; after that one
	// more every SourceEvery, across all user names. Defaults 20, 15s.
	SourceBurst int
	SourceEvery time.Duration
	// MaxInFlight bounds requests being handled; beyond it a request
	// waits up to QueueWait and is then answered 503. Defaults 128, 50ms.
	// The health check takes no slot.
	MaxInFlight int
	QueueWait   time.Duration
	// BodyTimeout bounds how long a request body may take to arrive after
	// its headers; a slower client is answered 408 and disconnected.
	// Bodies are read in full before a request takes an in-flight slot,
	// so a slow sender holds only its own connection. Default 5s.
	BodyTimeout time.Duration
	// MaxConnsPerSource bounds the connections one client address (an
	// IPv6 /64) has open at once, idle ones included; more are closed at
	// accept. Default 1024; negative means no cap. Raise it when more
	// devices than that reach the portal through one NAT address.
	MaxConnsPerSource int
	// TrustedProxies are the load balancers in front of the portal. A
	// connection from one of them must begin with a PROXY protocol v2
	// header (HAProxy: send-proxy-v2), whose client address then counts
	// for the per-source limits. Empty: no balancer, the peer is the
	// client.
	TrustedProxies []netip.Prefix
	// MaxDownloads bounds concurrent release file downloads. Default 32.
	MaxDownloads int
	// MaxDownloadsPerSource bounds the downloads one client address (an
	// IPv6 /64) runs at once, so a few addresses cannot take every slot.
	// Default a quarter of MaxDownloads (at least 1); negative means no
	// cap. Raise it when many devices reach the portal through one NAT.
	MaxDownloadsPerSource int
	// MinDownloadRate, in bytes per second, is the least average rate a
	// download must keep after its first DownloadGrace; a reader that
	// falls below it, or takes no data for DownloadGrace, is dropped
	// and its slot freed. Defaults 16 KiB/s and 10s.
	MinDownloadRate int64
	DownloadGrace   time.Duration
	// RetryAfter is the least Retry-After of a 503; a random extra of up to
	// RetryAfterSpread spreads the retries of a crowd. Defaults 2s and 4s;
	// a negative spread means none.
	RetryAfter       time.Duration
	RetryAfterSpread time.Duration
	// MaxBodyBytes bounds request bodies. Default 16 KiB.
	MaxBodyBytes int64
	// GatewayClientCA issues the client certificates of gateways that
	// run as processes of their own (IssueGatewayCert); nil refuses every
	// gateway, for a portal whose gateway runs inside it.
	GatewayClientCA *x509.CertPool
	// ReleaseDir holds published release files, one directory per
	// channel. Empty disables file downloads.
	ReleaseDir string
	// Now is the clock. nil means time.Now.
	Now func() time.Time
	// Logger nil means slog.Default().
	Logger *slog.Logger
	// Observe, if set, is called after each admitted request with its
	// route pattern (one of api.AllRoutes, or "" for no match), status
	// and duration, e.g. for metrics. It must be fast and safe for
	// concurrent use.
	Observe func(route string, status int, d time.Duration)
}

// TunnelConfig is the organisation's WireGuard setup as devices see it.
type TunnelConfig struct {
	// Pool is the network of device addresses, e.g. 10.77.0.0/16; devices
	// get First, First+1, … .
	Pool  netip.Prefix
	First netip.Addr
	// DNS servers and search domains reached through the tunnel.
	DNS           []netip.Addr
	SearchDomains []string
	// GatewayEndpoint is host:port of the gateway's UDP listener.
	GatewayEndpoint string
	// GatewayPublicKey is the gateway's base64 WireGuard public key.
	GatewayPublicKey string
	// Gateways lists every gateway of the organisation in the order
	// devices try them. Empty means the one gateway above; when set, the
	// fields above may be empty or must name its first entry, and are
	// filled in from it (clients before issue 18 read only those).
	// A gateway of its own process proves its public key with a client
	// certificate (GatewayClientCA) to read the authorised peers.
	Gateways []Gateway
	// AllowedIPs are the office networks routed through the tunnel.
	AllowedIPs       []netip.Prefix
	KeepaliveSeconds int
}

// Gateway is one WireGuard gateway of the organisation.
type Gateway struct {
	// Endpoint is host:port of its UDP listener, as devices reach it.
	Endpoint string
	// PublicKey is its base64 WireGuard public key.
	PublicKey string
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.SessionEnd, 20*time.Hour)
	def(&c.MinSession, 2*time.Hour)
	def(&c.EnrollmentTTL, 24*time.Hour)
	def(&c.RegistrationWindow, 7*24*time.Hour)
	def(&c.AutoSessionWindow, 15*time.Minute)
	def(&c.LockWindow, 5*time.Minute)
	def(&c.LockFor, 5*time.Minute)
	def(&c.SourceEvery, 15*time.Second)
	def(&c.QueueWait, 50*time.Millisecond)
	def(&c.BodyTimeout, 5*time.Second)
	def(&c.DownloadGrace, 10*time.Second)
	def(&c.RetryAfter, 2*time.Second)
	def(&c.RetryAfterSpread, 4*time.Second)
	if c.Issuer == "" {
		c.Issuer = "Dienstweg"
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.LockAfter == 0 {
		c.LockAfter = 5
	}
	if c.SourceBurst == 0 {
		c.SourceBurst = 20
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 128
	}
	if c.MaxConnsPerSource == 0 {
		c.MaxConnsPerSource = 1024
	}
	if c.MaxDownloads == 0 {
		c.MaxDownloads = 32
	}
	if c.MaxDownloadsPerSource == 0 {
		c.MaxDownloadsPerSource = max(1, c.MaxDownloads/4)
	}
	if c.MinDownloadRate == 0 {
		c.MinDownloadRate = 16 << 10
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 16 << 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server is the portal. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	rules   []rule // cfg.Hours, checked
	st      store.Store
	handler http.Handler
	log     *slog.Logger

	tunnel    atomic.Pointer[TunnelConfig]
	inflight  chan struct{}
	downloads chan struct{}
	dlSources sourceCounter
	ann       announcementCache
	creds     credentialCache

	gatewayPolls    chan struct{}
	gwRefusals      refusalLog
	handshakeLimits handshakeLimiter

	subMu sync.Mutex
	subs  map[chan struct{}]struct{}

	// connSources counts open connections per source (Serve).
	connSources sourceCounter

	unknownMu         sync.Mutex
	unknownNext       time.Time
	unknownSuppressed int

	served       atomic.Int64
	shed         atomic.Int64
	lastShed     atomic.Int64 // Unix nanoseconds of the last 503, wall clock (Ready)
	bodyTimeouts atomic.Int64
	slowDrops    atomic.Int64
	refusedConns atomic.Int64

	metrics  *metrics
	auditLog auditWriter
	// outer routes mounted handlers (Mount) past the API's JSON body
	// checks; everything else goes to the API.
	outer *http.ServeMux
}

// New returns a server over st. It does not own st: the caller closes it.
func New(cfg Config, st store.Store) (*Server, error) {
	if st == nil {
		return nil, errors.New("portal server needs a store")
	}
	cfg.setDefaults()
	if err := cfg.Tunnel.validate(); err != nil {
		return nil, err
	}
	rules, err := cfg.Hours.compile()
	if err != nil {
		return nil, fmt.Errorf("working hours: %w", err)
	}
	// Made now, not for the first unknown user name, whose answer would
	// otherwise take twice as long and so tell that the name is unknown.
	go dummyHash()
	s := &Server{
		cfg:       cfg,
		rules:     rules,
		st:        st,
		log:       cfg.Logger.With("component", "portal"),
		inflight:  make(chan struct{}, cfg.MaxInFlight),
		downloads: make(chan struct{}, cfg.MaxDownloads),
		subs:      map[chan struct{}]struct{}{},

		gatewayPolls: make(chan struct{}, maxGatewayPolls),
	}
	t := cfg.Tunnel
	s.tunnel.Store(&t)
	s.ann.srv = s
	s.creds.entries = map[string]credEntry{}
	s.metrics = newMetrics()
	s.auditLog.st = st

	mux := http.NewServeMux()
	for route, h := range map[string]http.HandlerFunc{
		api.RouteHealth:            s.handleHealth,
		api.RouteEnrollmentStart:   s.handleEnrollmentStart,
		api.RouteEnrollmentConfirm: s.handleEnrollmentConfirm,
		api.RouteDeviceRegister:    s.handleDeviceRegister,
		api.RouteDeviceGet:         s.handleDeviceGet,
		api.RouteSessionAuthorise:  s.handleSessionAuthorise,
		api.RouteSessionStatus:     s.handleSessionStatus,
		api.RouteSessionEnd:        s.handleSessionEnd,
		api.RouteDeviceReport:      s.handleDeviceReport,
		api.RouteAnnouncements:     s.handleAnnouncements,
		api.RouteReleaseManifest:   s.handleReleaseManifest,
		api.RouteReleaseSignature:  s.handleReleaseSignature,
		api.RouteReleaseFile:       s.handleReleaseFile,
	} {
		mux.Handle(route, s.admit(route, h))
	}
	mux.Handle(GatewayPeersRoute, s.observed(s.withGateway(s.withLimit(s.gatewayPolls, http.HandlerFunc(s.handleGatewayPeers)))))
	mux.Handle(GatewayHandshakesRoute, s.observed(s.withGateway(s.withLimit(s.inflight, http.HandlerFunc(s.handleGatewayHandshakes)))))
	// Anything else gets a JSON 404/405 instead of the mux's text page.
	mux.Handle("/", s.admit("", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: "no such API endpoint"})
	})))
	s.outer = http.NewServeMux()
	s.outer.Handle("/", s.withBody(mux))
	s.handler = s.withDate(s.outer)
	return s, nil
}

// admit puts the bound that fits route in front of h. The health check
// takes no slot: it touches no store, and neither load nor slow clients
// may make the portal look dead to its monitor. Downloads have slots of
// their own; everything else shares the in-flight bound.
func (s *Server) admit(route string, h http.Handler) http.Handler {
	switch route {
	case api.RouteHealth:
		return s.observed(h)
	case api.RouteReleaseFile:
		return s.withSourceLimit(&s.dlSources, s.cfg.MaxDownloadsPerSource, s.withLimit(s.downloads, s.observed(h)))
	default:
		return s.withLimit(s.inflight, s.observed(h))
	}
}

func (t *TunnelConfig) validate() error {
	if !t.Pool.IsValid() {
		return errors.New("tunnel: address pool is not set")
	}
	if !t.First.IsValid() {
		t.First = t.Pool.Masked().Addr().Next().Next()
	}
	if !t.Pool.Contains(t.First) {
		return fmt.Errorf("tunnel: first address %s is outside %s", t.First, t.Pool)
	}
	first := Gateway{Endpoint: t.GatewayEndpoint, PublicKey: t.GatewayPublicKey}
	switch {
	case len(t.Gateways) == 0:
		t.Gateways = []Gateway{first}
	case first != Gateway{} && first != t.Gateways[0]:
		return fmt.Errorf("tunnel: the gateway %s is not the first of the gateways list (%s)", first.Endpoint, t.Gateways[0].Endpoint)
	}
	t.Gateways = slices.Clone(t.Gateways)
	t.GatewayEndpoint, t.GatewayPublicKey = t.Gateways[0].Endpoint, t.Gateways[0].PublicKey
	seen := map[string]bool{}
	for i, g := range t.Gateways {
		if _, _, err := net.SplitHostPort(g.Endpoint); err != nil {
			return fmt.Errorf("tunnel: gateway %d endpoint %q: %w", i+1, g.Endpoint, err)
		}
		if _, err := parseWGKey(g.PublicKey); err != nil {
			return fmt.Errorf("tunnel: gateway %d public key: %w", i+1, err)
		}
		// The key names the gateway (its client certificate, the
		// device's peer): two gateways cannot share one.
		if seen[g.PublicKey] {
			return fmt.Errorf("tunnel: gateway %d has the public key of another gateway", i+1)
		}
		seen[g.PublicKey] = true
	}
	return nil
}

// hasGateway reports whether the gateway with this public key is one of
// the organisation's.
func (t *TunnelConfig) hasGateway(publicKey string) bool {
	return slices.ContainsFunc(t.Gateways, func(g Gateway) bool { return g.PublicKey == publicKey })
}

// Handler returns the HTTP handler, e.g. for httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// SetTunnel replaces the tunnel configuration handed to devices, e.g. when
// the gateway starts on another port. Devices keep their addresses.
func (s *Server) SetTunnel(t TunnelConfig) error {
	if err := t.validate(); err != nil {
		return err
	}
	s.tunnel.Store(&t)
	return nil
}

// Tunnel returns the current tunnel configuration.
func (s *Server) Tunnel() TunnelConfig { return *s.tunnel.Load() }

// Stats are counters for benchmarks and monitoring.
type Stats struct {
	// Served counts requests admitted past the in-flight bound.
	Served int64
	// Shed counts requests answered 503 because of the bound.
	Shed int64
	// BodyTimeouts counts clients dropped because their body did not
	// arrive within BodyTimeout.
	BodyTimeouts int64
	// SlowDownloads counts downloads dropped because the reader fell
	// below MinDownloadRate.
	SlowDownloads int64
	// RefusedConns counts connections closed at accept because their
	// source had MaxConnsPerSource open.
	RefusedConns int64
}

// Stats returns the counters since start.
func (s *Server) Stats() Stats {
	return Stats{Served: s.served.Load(), Shed: s.shed.Load(), BodyTimeouts: s.bodyTimeouts.Load(), SlowDownloads: s.slowDrops.Load(), RefusedConns: s.refusedConns.Load()}
}

// Serve answers on ln until ctx ends, then shuts down gracefully. With
// tlsCfg nil it serves plain HTTP, which it refuses unless ln is on
// loopback (development only).
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsCfg *tls.Config) error {
	if tlsCfg == nil {
		ap, err := netip.ParseAddrPort(ln.Addr().String())
		if err != nil || !ap.Addr().IsLoopback() {
			return fmt.Errorf("plain HTTP is only allowed on loopback, not %s", ln.Addr())
		}
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		// Bodies have their own, shorter deadline (BodyTimeout).
		ReadTimeout: 15 * time.Second,
		// Release downloads lift this deadline for themselves.
		WriteTimeout:   30 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:    func(net.Listener) context.Context { return ctx },
	}
	ln = &sourceLimitedListener{Listener: ln, srv: s, limit: s.cfg.MaxConnsPerSource}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	go s.pruneLoop(ctx)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving portal: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc
	return nil
}

func (s *Server) pruneLoop(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if err := s.st.Prune(ctx, s.cfg.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("pruning portal store", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// withDate sets the Date header from the injected clock: clients derive
// their clock offset from it, and tests need it deterministic.
func (s *Server) withDate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.cfg.Now().UTC().Format(http.TimeFormat))
		next.ServeHTTP(w, r)
	})
}

// withLimit bounds the requests that hold a slot of sem. A short queue
// absorbs bursts; beyond it the request is shed with 503 and a spread
// Retry-After, so a crowd of clients does not come back in the same
// second. Its body has been read already (withBody): a slot is only ever
// held for the portal's own work, never while waiting for a client.
func (s *Server) withLimit(sem chan struct{}, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
		default:
			t := time.NewTimer(s.cfg.QueueWait)
			select {
			case sem <- struct{}{}:
				t.Stop()
			case <-t.C:
				s.shedRequest(w)
				return
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		defer func() { <-sem }()
		s.served.Add(1)
		next.ServeHTTP(w, r)
	})
}

// observed reports each request to the metrics and Config.Observe.
func (s *Server) observed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		// The mux stored the matched pattern in r.
		d := time.Since(start)
		s.metrics.observe(r.Pattern, sw.status, d)
		if s.cfg.Observe != nil {
			s.cfg.Observe(r.Pattern, sw.status, d)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) shedRequest(w http.ResponseWriter) {
	s.shed.Add(1)
	s.lastShed.Store(time.Now().UnixNano())
	d := s.cfg.RetryAfter
	if s.cfg.RetryAfterSpread > 0 {
		d += rand.N(s.cfg.RetryAfterSpread)
	}
	secs := max(1, int((d+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusServiceUnavailable, api.Error{
		Code:              api.CodeOverloaded,
		Message:           "the portal is busy, retry after " + strconv.Itoa(secs) + " seconds",
		RetryAfterSeconds: secs,
	})
}

// Subscribe returns a channel that receives a value whenever the set of
// authorised peers may have changed (sends never block; bursts collapse),
// and a function that ends the subscription.
func (s *Server) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.subMu.Lock()
	s.subs[ch] = struct{}{}
	s.subMu.Unlock()
	return ch, func() {
		s.subMu.Lock()
		delete(s.subs, ch)
		s.subMu.Unlock()
	}
}

func (s *Server) notifyPeers() {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Peer is a device whose tunnel peer the gateway should admit.
type Peer struct {
	DeviceID string `json:"device_id"`
	User     string `json:"user"`
	// PublicKey is the device's base64 WireGuard public key.
	PublicKey string `json:"public_key"`
	// Address is the device's tunnel address (a /32 or /128).
	Address netip.Prefix `json:"address"`
	// Until is when the admission ends; the gateway removes the peer then
	// even if it polls no more.
	Until time.Time `json:"until"`
}

// AuthorisedPeers lists the peers admitted at now. A gateway polls it (or
// waits on Subscribe) and configures exactly these peers.
func (s *Server) AuthorisedPeers(ctx context.Context, now time.Time) ([]Peer, error) {
	devs, err := s.st.AuthorisedDevices(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("authorised peers: %w", err)
	}
	peers := make([]Peer, 0, len(devs))
	for _, d := range devs {
		peers = append(peers, Peer{
			DeviceID:  d.ID,
			User:      d.User,
			PublicKey: d.PublicKey,
			Address:   netip.PrefixFrom(d.Address, d.Address.BitLen()),
			Until:     d.AuthorisedUntil,
		})
	}
	return peers, nil
}

// RevokeDevice disables a device for good (lost laptop) and tells
// subscribers; the audit log names the portal as the actor.
func (s *Server) RevokeDevice(ctx context.Context, deviceID string) error {
	return s.RevokeDeviceBy(ctx, deviceID, "portal")
}

// RevokeDeviceBy is RevokeDevice with the actor the audit log names.
func (s *Server) RevokeDeviceBy(ctx context.Context, deviceID, actor string) error {
	now := s.cfg.Now()
	if err := s.st.RevokeDevice(ctx, deviceID, now); err != nil {
		return err
	}
	s.audit(ctx, nil, actor, AuditDeviceRevoke, deviceID, nil)
	s.creds.clear()
	s.notifyPeers()
	return nil
}

// sessionEnd is when a session authorised at now ends: the configured
// wall-clock time today in the organisation's zone, but at least
// MinSession from now.
func (s *Server) sessionEnd(now time.Time) time.Time {
	l := now.In(s.cfg.Location)
	y, m, d := l.Date()
	h := int(s.cfg.SessionEnd / time.Hour)
	mi := int(s.cfg.SessionEnd % time.Hour / time.Minute)
	end := time.Date(y, m, d, h, mi, 0, 0, s.cfg.Location)
	if end.Sub(now) < s.cfg.MinSession {
		end = now.Add(s.cfg.MinSession)
	}
	return end.UTC().Truncate(time.Second)
}
