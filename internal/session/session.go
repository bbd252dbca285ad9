// Package session is the home-office session controller: "Start home
// office" with a code from the authenticator app authorises this device
// at the portal, brings the tunnel up with the private key from the
// keyring, and reports Connected once the gateway has answered and a
// first check through the tunnel passed. It keeps the tunnel up across
// sleep and network changes while the authorisation holds, and asks for a
// new code after it has ended. It implements agent.Session.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/portal"
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
// defaults; Portal, Keys, Engine, Store and CheckURL are required.
type Options struct {
	Portal Portal
	Keys   KeySource
	Engine Engine
	Store  *state.Store
	// CheckURL is fetched through the tunnel as the first check, e.g.
	// "http://intranet.musterstadt.example/". Any 2xx or 3xx passes.
	CheckURL string
	// CheckTimeout bounds the first check, handshake included. Default 15s.
	CheckTimeout time.Duration
	// MonitorInterval is how often the running session looks at the
	// handshake and the authorisation's end. Default 5s.
	MonitorInterval time.Duration
	// StaleAfter: a handshake older than this means the gateway is gone
	// (wireguard-go renews it every 2 minutes while packets flow).
	// Default 3m15s.
	StaleAfter time.Duration
	// BackoffBase and BackoffMax bound reconnect waits. Defaults 1s, 1m.
	BackoffBase, BackoffMax time.Duration
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

	op sync.Mutex // serialises Start, End and Close

	mu      sync.Mutex
	running bool
	cfg     tunnel.Config
	until   time.Time
	stop    context.CancelFunc
	done    chan struct{}
	kick    chan struct{}
}

// New checks the options and returns an idle controller.
func New(opts Options) (*Controller, error) {
	switch {
	case opts.Portal == nil, opts.Keys == nil, opts.Engine == nil, opts.Store == nil:
		return nil, errors.New("session needs a portal, a key source, an engine and a store")
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
	def(&opts.BackoffMax, time.Minute)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Controller{opts: opts, log: opts.Logger.With("component", "session"), kick: make(chan struct{}, 1)}, nil
}

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
	m := &state.Message{Key: key}
	for i := 0; i+1 < len(args); i += 2 {
		if m.Args == nil {
			m.Args = map[string]string{}
		}
		m.Args[args[i]] = args[i+1]
	}
	return m
}

func (c *Controller) publish(s state.Session, m *state.Message) {
	c.opts.Store.Update(func(sn *state.Snapshot) {
		sn.Session = s
		sn.Detail = m
	})
}

// fail publishes the outcome, records it for the support window and
// returns it as the local API error the agent passes on.
func (c *Controller) fail(s state.Session, m *state.Message, status int, err error) error {
	c.publish(s, m)
	c.opts.Store.AddError(*m)
	c.log.Warn("session did not start", "state", s, "reason", m.Key, "err", err)
	return &localapi.Error{Status: status, Code: m.Key, Key: m.Key, Args: m.Args, Message: err.Error()}
}

// Start implements agent.Session: authorise with code, bring the tunnel
// up, check, and keep it up. A running session is replaced.
func (c *Controller) Start(ctx context.Context, code string) error {
	c.op.Lock()
	defer c.op.Unlock()
	c.stopMonitor()
	c.opts.Engine.Down()
	c.publish(state.Connecting, msg(KeyAuthorising))

	cred, err := c.opts.Keys.Credential()
	if err != nil {
		return c.keysFailure(fmt.Errorf("reading device credential: %w", err))
	}
	c.opts.Portal.SetCredential(cred)
	sess, err := c.opts.Portal.AuthoriseSession(ctx, code)
	if err != nil {
		return c.portalFailure(err)
	}
	var until time.Time
	if sess.Until != nil {
		until = *sess.Until
	}
	if !sess.Authorised {
		return c.fail(state.CodeNeeded, msg(KeyExpired), http.StatusConflict, errors.New("portal did not authorise the session"))
	}
	dev, err := c.opts.Portal.Device(ctx)
	if err != nil {
		return c.portalFailure(err)
	}
	key, err := c.opts.Keys.PrivateKey()
	if err != nil {
		return c.keysFailure(fmt.Errorf("reading private key: %w", err))
	}
	cfg := tunnel.FromProfile(dev.Tunnel, key)
	c.publish(state.Connecting, msg(KeyConnecting))
	if err := c.opts.Engine.Up(ctx, cfg); err != nil {
		return c.fail(state.Problem, msg(KeyTunnelFailed), http.StatusInternalServerError, fmt.Errorf("bringing tunnel up: %w", err))
	}
	c.mu.Lock()
	c.cfg, c.until, c.running = cfg, until, true
	c.mu.Unlock()
	// From here the session holds: even if the first check fails, the
	// monitor keeps retrying while the authorisation lasts.
	m, err := c.check(ctx)
	c.startMonitor(err != nil)
	if err != nil {
		return c.fail(state.Problem, m, http.StatusBadGateway, err)
	}
	c.connected(until)
	return nil
}

// keysFailure reports keys that could not be read. A locked or missing
// keyring leaves nothing running and says what to do; anything else is
// the generic problem.
func (c *Controller) keysFailure(err error) error {
	switch {
	case errors.Is(err, ErrKeysLocked):
		return c.fail(state.NotConnected, msg(KeyKeyringLocked), http.StatusConflict, err)
	case errors.Is(err, ErrKeysUnavailable):
		return c.fail(state.NotConnected, msg(KeyKeyringUnavailable), http.StatusServiceUnavailable, err)
	}
	return c.fail(state.Problem, msg(KeyKeyring), http.StatusInternalServerError, err)
}

func (c *Controller) connected(until time.Time) {
	c.publish(state.Connected, msg(KeyConnectedUntil, "Until", until.In(time.Local).Format("15:04")))
	c.log.Info("session connected", "until", until)
}

// portalFailure publishes a failed portal call: the text is
// portal.Explain's, the state and the status follow the kind.
func (c *Controller) portalFailure(err error) error {
	m := portal.Explain(err, c.opts.Now(), time.Local)
	switch portal.KindOf(err) {
	case portal.KindWrongCode:
		return c.fail(state.CodeNeeded, m, http.StatusUnauthorized, err)
	case portal.KindCodeReused:
		return c.fail(state.CodeNeeded, m, http.StatusConflict, err)
	case portal.KindLocked:
		return c.fail(state.NotConnected, m, http.StatusTooManyRequests, err)
	case portal.KindDeviceUnauthorised:
		return c.fail(state.Problem, m, http.StatusForbidden, err)
	}
	return c.fail(state.Problem, m, http.StatusBadGateway, err)
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
	c.stopMonitor()
	c.opts.Engine.Down()
	c.mu.Lock()
	wasRunning := c.running
	c.running, c.cfg = false, tunnel.Config{}
	c.mu.Unlock()
	c.publish(state.NotConnected, msg(KeyEnded))
	if !wasRunning {
		return nil
	}
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
	c.stopMonitor()
	c.mu.Lock()
	c.running = false
	c.mu.Unlock()
	return c.opts.Engine.Down()
}

// Reconnect asks the running session to rebuild the tunnel soon, e.g.
// after a network change or resume. It never blocks.
func (c *Controller) Reconnect() { c.requestReconnect() }

func (c *Controller) requestReconnect() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// startMonitor starts watching; broken means the first check failed and
// the monitor begins with a reconnect after the first backoff step.
func (c *Controller) startMonitor(broken bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.mu.Lock()
	c.stop, c.done = cancel, done
	c.mu.Unlock()
	go func() {
		defer close(done)
		c.monitor(ctx, broken)
	}()
}

func (c *Controller) stopMonitor() {
	c.mu.Lock()
	stop, done := c.stop, c.done
	c.stop, c.done = nil, nil
	c.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// monitor watches the running session: the authorisation's end, a stale
// handshake, a resume from sleep, and reconnect requests. Reconnects back
// off exponentially with jitter.
func (c *Controller) monitor(ctx context.Context, broken bool) {
	t := time.NewTicker(c.opts.MonitorInterval)
	defer t.Stop()
	var (
		attempt   int
		nextTry   time.Time
		lastWall  = time.Now()
		lastMono  = time.Now()
		interval  = c.opts.MonitorInterval
		kickedNow bool
	)
	if broken {
		attempt = 1
		nextTry = time.Now().Add(c.backoff(attempt))
	}
	for {
		kickedNow = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
			kickedNow = true
			broken = true
		}
		// Monotonic time stops during suspend, wall time does not: a gap
		// between the two means the laptop slept, and its tunnel needs a
		// fresh handshake (and perhaps a new route to the gateway).
		wallGap := time.Now().Round(0).Sub(lastWall.Round(0))
		monoGap := time.Since(lastMono)
		lastWall, lastMono = time.Now(), time.Now()
		if wallGap-monoGap > 2*interval+10*time.Second {
			c.log.Info("resume from sleep detected; reconnecting")
			broken, kickedNow = true, true
		}

		now := c.opts.Now()
		c.mu.Lock()
		until, cfg := c.until, c.cfg
		c.mu.Unlock()
		if !until.IsZero() && !now.Before(until) {
			if c.authorisationEnded(ctx) {
				return
			}
		}
		if !broken {
			st, err := c.opts.Engine.Stats()
			if err == nil && !st.LastHandshake.IsZero() && st.HandshakeAge(time.Now()) <= c.opts.StaleAfter {
				continue
			}
			broken = true
			kickedNow = true
		}
		if !kickedNow && time.Now().Before(nextTry) {
			continue
		}
		if kickedNow {
			attempt = 0
		}
		// Still authorised? A dead tunnel after the end of the day must
		// ask for a code, not retry forever.
		if s, err := c.opts.Portal.SessionStatus(ctx); err == nil && !s.Authorised {
			c.expire()
			return
		} else if errors.Is(err, portal.ErrDeviceUnauthorised) {
			c.opts.Engine.Down()
			c.publish(state.Problem, msg(portal.KeyDeviceUnauthorised))
			return
		} else if err == nil && s.Until != nil {
			c.mu.Lock()
			c.until = *s.Until
			until = c.until
			c.mu.Unlock()
		}
		c.publish(state.Connecting, msg(KeyReconnecting))
		var m *state.Message
		err := c.opts.Engine.Up(ctx, cfg)
		if err == nil {
			m, err = c.check(ctx)
		} else {
			m = msg(KeyGatewayUnreachable)
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			broken, attempt = false, 0
			c.connected(until)
			continue
		}
		attempt++
		wait := c.backoff(attempt)
		nextTry = time.Now().Add(wait)
		c.publish(state.Problem, m)
		c.log.Info("reconnect failed", "attempt", attempt, "retry_in", wait, "err", err)
	}
}

// authorisationEnded asks the portal whether the session still holds
// after its known end (an admin may have extended it). It returns true
// when the session has ended.
func (c *Controller) authorisationEnded(ctx context.Context) bool {
	s, err := c.opts.Portal.SessionStatus(ctx)
	if err == nil && s.Authorised && s.Until != nil && c.opts.Now().Before(*s.Until) {
		c.mu.Lock()
		c.until = *s.Until
		c.mu.Unlock()
		return false
	}
	if err != nil && !errors.Is(err, portal.ErrDeviceUnauthorised) {
		// The portal cannot say. The gateway admits no peer past the end
		// of its authorisation, even while the portal is away, so a
		// tunnel that still carries the office check proves an extension
		// this device could not learn about: an unreachable portal must
		// not end a working session. The next round asks again.
		if _, cerr := c.check(ctx); cerr == nil {
			c.log.Info("portal unreachable after the end of the authorisation, but the gateway still admits this device; keeping the session", "err", err)
			return false
		}
	}
	if ctx.Err() != nil {
		return true // the monitor is being stopped; End or Close decides
	}
	c.expire()
	return true
}

func (c *Controller) expire() {
	c.opts.Engine.Down()
	c.mu.Lock()
	c.running = false
	c.mu.Unlock()
	c.publish(state.CodeNeeded, msg(KeyExpired))
	c.log.Info("session authorisation ended; a new code is needed")
}

// backoff is the wait before reconnect attempt+1, with equal jitter so
// it never collapses to zero.
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
