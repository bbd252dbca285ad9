// Package session is the home-office session controller: "Start home
// office" with a code from the authenticator app authorises this device
// at the portal, brings the tunnel up with the private key from the
// keyring, and reports Connected once the gateway has answered and a
// first check through the tunnel passed. It keeps the tunnel up across
// sleep and network changes while the authorisation holds, and asks for a
// new code after it has ended. Its supervisor (supervisor.go) owns every
// reconnect decision. It implements agent.Session.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// KeySource gives this device's secrets from the OS keyring. It is
// declared here so the session does not depend on the keyring package.
// Implementations must be safe for concurrent use, and should wrap
// ErrKeysLocked or ErrKeysUnavailable when they apply, so the employee
// learns what to do instead of a generic "could not be read".
type KeySource interface {
	// PrivateKey is the base64 WireGuard private key.
	PrivateKey() (string, error)
	// Credential is the device credential for the portal.
	Credential() (string, error)
}

// Errors a KeySource wraps.
var (
	// ErrKeysLocked: the keyring is locked; the person can unlock it.
	ErrKeysLocked = errors.New("the keyring is locked")
	// ErrKeysUnavailable: there is no keyring to read from.
	ErrKeysUnavailable = errors.New("there is no keyring")
)

// Portal is what the session needs of the portal client; *portal.Client
// implements it. Implementations must be safe for concurrent use.
type Portal interface {
	SetCredential(cred string)
	AuthoriseSession(ctx context.Context, code string) (*portal.Session, error)
	// ExtendSession lengthens the authorisation that holds.
	ExtendSession(ctx context.Context, code string) (*portal.Session, error)
	SessionStatus(ctx context.Context) (*portal.Session, error)
	EndSession(ctx context.Context) (*portal.Session, error)
	Device(ctx context.Context) (*portal.DeviceInfo, error)
}

// Engine carries the tunnel; tunnel.Engine implementations fit. Declared
// here so tests and the system-mode helper client can stand in.
// Implementations must be safe for concurrent use.
type Engine interface {
	Up(ctx context.Context, cfg tunnel.Config) error
	Down() error
	Stats() (tunnel.Stats, error)
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Options configure a Controller. Zero fields take the documented
// defaults; Portal, Keys, Engine and CheckURL are required.
type Options struct {
	Portal Portal
	Keys   KeySource
	Engine Engine
	// CheckURL is fetched through the tunnel as the first check, e.g.
	// "http://intranet.musterstadt.example/". Any 2xx or 3xx passes.
	CheckURL string
	// CheckTimeout bounds the first check, handshake included. Default 15s.
	CheckTimeout time.Duration
	// MonitorInterval is how often a working session looks at the
	// handshake and the authorisation's end. Default 5s.
	MonitorInterval time.Duration
	// StaleAfter: a handshake older than this means the gateway is gone
	// (wireguard-go renews it every 2 minutes while packets flow).
	// Default 3m15s.
	StaleAfter time.Duration
	// BackoffBase and BackoffMax bound the waits between fresh
	// handshakes while the gateway is lost. Defaults 1s and 2s: each try
	// is one small packet, and a returning gateway must be noticed
	// within about 3 s.
	BackoffBase, BackoffMax time.Duration
	// WarnBefore is how long before the authorisation's end the session
	// says it ends soon (Status.EndsSoon, the EndsSoon event), so the
	// employee can extend it. Zero means 15m, negative no warning.
	WarnBefore time.Duration
	// Now is the clock the authorisation's end is compared with (the
	// portal's clock in tests); nil means time.Now. Handshake ages and
	// backoff waits use real time, like wireguard-go.
	Now func() time.Time
	// Rand returns a number in [0,1) for jitter; nil means math/rand/v2.
	Rand   func() float64
	Logger *slog.Logger
}

// Controller runs the session. It is safe for concurrent use; Start and
// End are serialised.
type Controller struct {
	opts Options
	log  *slog.Logger
	feed *Feed

	op sync.Mutex // serialises Start, End and Close

	mu      sync.Mutex
	running bool
	cfg     tunnel.Config
	// gateways are the organisation's, in the portal's order; cfg uses
	// one of them. answered is the last that answered, tried first by
	// the next session. The supervisor alone moves cfg between them.
	gateways []tunnel.Gateway
	answered tunnel.Gateway
	until    time.Time
	stop     context.CancelFunc
	done     chan struct{}
	pending  Signal    // inputs not yet read by the supervisor
	lastInit time.Time // last Up or fresh handshake, for the flood gap
	// endsSoon: the warning before until was given; expired: the last
	// session's authorisation ran out and no new one started (extend.go).
	endsSoon, expired bool

	// lockedUntil is the end of the portal's lock on codes, lifted by
	// lockTimer (lock.go); both guarded by mu.
	lockedUntil time.Time
	lockTimer   *time.Timer

	wake chan struct{} // one slot: pending has news
}

// New checks the options and returns an idle controller.
func New(opts Options) (*Controller, error) {
	switch {
	case opts.Portal == nil, opts.Keys == nil, opts.Engine == nil:
		return nil, errors.New("session needs a portal, a key source and an engine")
	case opts.CheckURL == "":
		return nil, errors.New("session needs a check url")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.CheckTimeout, 15*time.Second)
	def(&opts.MonitorInterval, 5*time.Second)
	def(&opts.StaleAfter, 3*time.Minute+15*time.Second)
	def(&opts.BackoffBase, time.Second)
	def(&opts.BackoffMax, 2*time.Second)
	if opts.WarnBefore == 0 {
		opts.WarnBefore = 15 * time.Minute // negative: no warning
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Controller{
		opts: opts,
		log:  opts.Logger.With("component", "session"),
		feed: NewFeed(Status{Phase: state.NotConnected, Since: opts.Now()}),
		wake: make(chan struct{}, 1),
	}, nil
}

// Status returns the session's current status.
func (c *Controller) Status() Status { return c.feed.Status() }

// Subscribe returns a mailbox with the newest Status; see Feed.Subscribe.
func (c *Controller) Subscribe() (<-chan Status, func()) { return c.feed.Subscribe() }

// Events returns the session's edges, none dropped; see Feed.Events.
func (c *Controller) Events() (<-chan Event, func()) { return c.feed.Events() }

// Message keys of the session, translated in assets/translations. Failed
// portal calls have portal.Explain's.
const (
	KeyAuthorising        = "session.authorising"
	KeyConnecting         = "session.connecting"
	KeyConnectedUntil     = "session.connected_until"
	KeyReconnecting       = "session.reconnecting"
	KeyKeyring            = "session.keyring"
	KeyKeyringLocked      = "keyring.locked"
	KeyKeyringUnavailable = "keyring.unavailable"
	KeyTunnelFailed       = "session.tunnel_failed"
	KeyGatewayUnreachable = "session.gateway_unreachable"
	KeyOfficeCheckFailed  = "session.office_check_failed"
	KeyExpired            = "session.expired"
	KeyEnded              = "session.ended"
)

func msg(key string, args ...string) *state.Message {
	return &problem.New(problem.Internal, key, nil, args...).Msg
}

// set publishes the session's phase with its detail; reconnecting marks
// a supervisor that is re-establishing the tunnel.
func (c *Controller) set(phase state.Session, m *state.Message, reconnecting bool) {
	c.mu.Lock()
	s := Status{Phase: phase, Detail: m, Until: c.until, LockedUntil: c.lockedUntil, Running: c.running, Reconnecting: reconnecting,
		EndsSoon: c.endsSoon && c.running, Expired: c.expired}
	c.mu.Unlock()
	c.feed.Set(s, c.opts.Now())
}

// fail publishes the outcome and returns it as the typed error the agent
// passes on.
func (c *Controller) fail(phase state.Session, e *problem.Error) error {
	c.set(phase, &e.Msg, false)
	c.log.Warn("session did not start", "state", phase, "reason", e.Msg.Key, "err", e.Err)
	return e
}

// Start implements agent.Session: authorise with code, bring the tunnel
// up, check, and keep it up. While a session runs, a code extends it
// instead (Extend): the tunnel stays as it is.
func (c *Controller) Start(ctx context.Context, code string) error {
	c.op.Lock()
	defer c.op.Unlock()
	if c.isRunning() {
		return c.extend(ctx, code)
	}
	return c.start(ctx, code)
}

func (c *Controller) start(ctx context.Context, code string) error {
	c.stopSupervisor()
	c.opts.Engine.Down()
	if c.markStopped() {
		c.feed.Emit(Event{Kind: Ended, At: c.opts.Now()})
	}
	c.clearLock()
	c.set(state.Connecting, msg(KeyAuthorising), false)

	cred, err := c.opts.Keys.Credential()
	if err != nil {
		return c.keysFailure(fmt.Errorf("reading device credential: %w", err))
	}
	c.opts.Portal.SetCredential(cred)
	sess, err := c.opts.Portal.AuthoriseSession(ctx, code)
	if err != nil {
		return c.portalFailure(err)
	}
	return c.bringUp(ctx, sess)
}

// bringUp brings the tunnel of the authorised session sess up, checks
// it, and keeps it up; c.op is held and the credential set.
func (c *Controller) bringUp(ctx context.Context, sess *portal.Session) error {
	var until time.Time
	if sess.Until != nil {
		until = *sess.Until
	}
	if !sess.Authorised {
		return c.fail(state.CodeNeeded, problem.New(problem.Conflict, KeyExpired, errors.New("portal did not authorise the session")))
	}
	dev, err := c.opts.Portal.Device(ctx)
	if err != nil {
		return c.portalFailure(err)
	}
	key, err := c.opts.Keys.PrivateKey()
	if err != nil {
		return c.keysFailure(fmt.Errorf("reading private key: %w", err))
	}
	gateways := tunnel.GatewaysOf(dev.Tunnel)
	cfg := tunnel.FromProfile(dev.Tunnel, key).WithGateway(c.firstGateway(gateways))
	c.set(state.Connecting, msg(KeyConnecting), false)
	if err := c.opts.Engine.Up(ctx, cfg); err != nil {
		if e, ok := problem.As(err); ok {
			// The engine says what the employee can do (the tunnel
			// helper is missing): nothing runs, as with a locked keyring.
			return c.fail(state.NotConnected, e)
		}
		return c.fail(state.Problem, problem.New(problem.Internal, KeyTunnelFailed, fmt.Errorf("bringing tunnel up: %w", err)))
	}
	c.mu.Lock()
	c.cfg, c.gateways, c.until, c.running, c.lastInit = cfg, gateways, until, true, time.Now()
	c.endsSoon, c.expired = false, false
	c.mu.Unlock()
	c.feed.Emit(Event{Kind: Started, At: c.opts.Now()})
	// From here the session holds: even if the first check fails, the
	// supervisor keeps trying while the authorisation lasts.
	m, err := c.check(ctx)
	c.startSupervisor(err != nil)
	if err != nil {
		return c.fail(state.Problem, problem.Wrap(problem.Unavailable, *m, err))
	}
	c.connected()
	return nil
}

// firstGateway is the gateway a session starts with: the one that
// answered last, if the organisation still has it, else its first.
func (c *Controller) firstGateway(gateways []tunnel.Gateway) tunnel.Gateway {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Contains(gateways, c.answered) {
		return c.answered
	}
	return gateways[0]
}

// markStopped records that no session runs and reports whether one did.
func (c *Controller) markStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.running
	c.running, c.cfg, c.gateways = false, tunnel.Config{}, nil
	return was
}

// keysFailure reports keys that could not be read. A locked or missing
// keyring leaves nothing running and says what to do; anything else is
// the generic problem.
func (c *Controller) keysFailure(err error) error {
	switch {
	case errors.Is(err, ErrKeysLocked):
		return c.fail(state.NotConnected, problem.New(problem.Conflict, KeyKeyringLocked, err))
	case errors.Is(err, ErrKeysUnavailable):
		return c.fail(state.NotConnected, problem.New(problem.Unavailable, KeyKeyringUnavailable, err))
	}
	return c.fail(state.Problem, problem.New(problem.Internal, KeyKeyring, err))
}

func (c *Controller) connected() {
	c.mu.Lock()
	until := c.until
	c.answered = c.cfg.Gateway()
	c.mu.Unlock()
	c.set(state.Connected, msg(KeyConnectedUntil, "Until", until.In(time.Local).Format("15:04")), false)
	c.log.Info("session connected", "until", until)
}

// portalFailure publishes a failed portal call: the text is
// portal.Explain's, the state and the kind follow the portal's kind.
func (c *Controller) portalFailure(err error) error {
	m := *portal.Explain(err, c.opts.Now(), time.Local)
	switch portal.KindOf(err) {
	case portal.KindWrongCode:
		return c.fail(state.CodeNeeded, problem.Wrap(problem.Denied, m, err))
	case portal.KindCodeReused:
		return c.fail(state.CodeNeeded, problem.Wrap(problem.Conflict, m, err))
	case portal.KindLocked:
		return c.failLocked(m, err)
	case portal.KindDeviceUnauthorised, portal.KindUserDisabled:
		return c.fail(state.Problem, problem.Wrap(problem.Forbidden, m, err))
	case portal.KindOutsideHours:
		// Nothing runs, and nothing is wrong: the text says from when.
		return c.fail(state.NotConnected, problem.Wrap(problem.Forbidden, m, err))
	}
	return c.fail(state.Problem, problem.Wrap(problem.Unavailable, m, err))
}

// check fetches CheckURL through the tunnel. The failure message tells a
// silent gateway (no handshake) from an office service that failed.
func (c *Controller) check(ctx context.Context) (*state.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.CheckTimeout)
	defer cancel()
	err := c.fetch(ctx)
	if err == nil {
		return nil, nil
	}
	st, serr := c.opts.Engine.Stats()
	if serr != nil || st.LastHandshake.IsZero() || st.HandshakeAge(time.Now()) > c.opts.StaleAfter {
		return msg(KeyGatewayUnreachable), fmt.Errorf("no answer from the gateway: %w", err)
	}
	return msg(KeyOfficeCheckFailed), fmt.Errorf("first check through the tunnel: %w", err)
}

func (c *Controller) fetch(ctx context.Context) error {
	tr := &http.Transport{DialContext: c.opts.Engine.DialContext, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.opts.CheckURL, nil)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 400 {
		return fmt.Errorf("check answered %s", resp.Status)
	}
	return nil
}

// End implements agent.Session: tunnel down, and the portal withdraws
// today's authorisation so the gateway drops the peer at once.
func (c *Controller) End(ctx context.Context) error {
	c.op.Lock()
	defer c.op.Unlock()
	c.stopSupervisor()
	c.opts.Engine.Down()
	wasRunning := c.markStopped()
	c.mu.Lock()
	c.expired = false
	c.mu.Unlock()
	c.set(state.NotConnected, msg(KeyEnded), false)
	if !wasRunning {
		return nil
	}
	c.feed.Emit(Event{Kind: Ended, At: c.opts.Now()})
	if _, err := c.opts.Portal.EndSession(ctx); err != nil {
		// The tunnel is down either way; the authorisation then just
		// runs out at the end of the day.
		c.log.Warn("portal did not confirm the end of the session", "err", err)
	}
	return nil
}

// Close stops the tunnel without ending the authorisation, e.g. when the
// agent quits; a restart then needs no new code while it holds.
func (c *Controller) Close() error {
	c.op.Lock()
	defer c.op.Unlock()
	c.stopSupervisor()
	c.clearLock()
	c.mu.Lock()
	c.running = false
	c.mu.Unlock()
	return c.opts.Engine.Down()
}

// backoff is the wait before fresh handshake attempt+1, with equal
// jitter so it never collapses to zero.
func (c *Controller) backoff(attempt int) time.Duration {
	return backoff.Policy{Base: c.opts.BackoffBase, Max: c.opts.BackoffMax, Jitter: 0.5, Rand: c.opts.Rand}.Wait(attempt, 0)
}

// StaticKeys is a KeySource that holds the secrets in memory, for tests,
// benchmarks and the demo before the keyring is wired in.
type StaticKeys struct {
	Private, Cred string
}

// PrivateKey implements KeySource.
func (k StaticKeys) PrivateKey() (string, error) { return k.Private, nil }

// Credential implements KeySource.
func (k StaticKeys) Credential() (string, error) { return k.Cred, nil }
