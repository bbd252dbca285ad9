package session

import (
	"context"
	"errors"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Signal is an input of the supervisor: news that the way to the gateway
// may have broken, or that it works again. Signals are bits; several
// arriving before the supervisor looks are taken together.
type Signal uint8

// The signals.
const (
	// NetworkChanged: the routes changed; the sockets may be bound to a
	// network that is gone.
	NetworkChanged Signal = 1 << iota
	// Resumed: the laptop woke from sleep (logind's PrepareForSleep).
	Resumed
	// GatewayLost: the health checks' verdict, the gateway stopped
	// answering through the tunnel.
	GatewayLost
	// GatewayBack: the health checks' verdict, it answers again.
	GatewayBack
)

// Rehandshaker is an engine that can renew the tunnel in place: reopen its
// sockets after a network change, and start a fresh handshake with the
// gateway without replacing the device. A new device would send its own
// handshake right after the old one's, and the gateway drops a second
// initiation within 20 ms as a flood (wireguard-go's
// HandshakeInitationRate); replacing it also drops the tunnel's open
// connections. tunnel.Userspace implements it; engines without it are
// brought up again instead. Implementations must be safe for concurrent
// use; both return at once, without waiting for the gateway.
type Rehandshaker interface {
	Rebind() error
	Rehandshake() error
}

// Signal hands the supervisor an input. It never blocks; signals that
// arrive while one is pending are merged, and those pending when a
// reconnect succeeds are dropped, since the tunnel they were about works.
func (c *Controller) Signal(s Signal) {
	c.mu.Lock()
	c.pending |= s
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Controller) takeSignals() Signal {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.pending
	c.pending = 0
	return s
}

// lostPoll is how often the supervisor reads the handshake while the
// gateway is lost, to see a fresh one soon after it answered.
const lostPoll = 100 * time.Millisecond

// portalEvery bounds how often a lost session asks the portal whether it
// is still authorised.
const portalEvery = 30 * time.Second

// outage is the supervisor's state while the gateway is lost.
type outage struct {
	active bool
	since  time.Time // real time; a handshake after it proves the way back
	// attempt counts fresh handshakes in this outage; next is when the
	// next may go out.
	attempt int
	next    time.Time
	rebind  bool
	// asked is when the portal was last asked about the authorisation.
	asked time.Time
	shown bool // Problem is shown
	// connecting: Connecting is shown (or Problem), not the Verbunden
	// from before the outage.
	connecting bool
}

func (c *Controller) startSupervisor(broken bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.mu.Lock()
	c.stop, c.done, c.pending = cancel, done, 0
	c.mu.Unlock()
	go func() {
		defer close(done)
		c.supervise(ctx, broken)
	}()
}

func (c *Controller) stopSupervisor() {
	c.mu.Lock()
	stop, done := c.stop, c.done
	c.stop, c.done = nil, nil
	c.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// earliestTry is the first moment a fresh handshake may go out: never
// within BackoffBase/2 of the last, far outside the gateway's flood window.
func (c *Controller) earliestTry(now time.Time) time.Time {
	c.mu.Lock()
	last := c.lastInit
	c.mu.Unlock()
	if t := last.Add(c.opts.BackoffBase / 2); t.After(now) {
		return t
	}
	return now
}

// supervise keeps the running session's tunnel up. It owns every
// reconnect decision: it reads the signals (health verdict, network,
// resume), notices sleep by a clock gap and a stale handshake itself, and
// while the gateway is lost sends fresh handshakes with backoff until one
// is answered. broken means the first check failed.
func (c *Controller) supervise(ctx context.Context, broken bool) {
	var out outage
	if broken {
		out = outage{active: true, since: time.Now(), next: c.earliestTry(time.Now()), shown: true}
	}
	var (
		lastWall, lastMono = time.Now(), time.Now()
		untilChecked       time.Time
		interval           = c.opts.MonitorInterval
	)
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		wait := interval
		if out.active {
			wait = min(lostPoll, max(time.Until(out.next), 0))
			if wait == 0 {
				wait = time.Millisecond
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.wake:
			timer.Stop() // since Go 1.23 Reset needs no drain
		}
		sig := c.takeSignals()
		now := time.Now()
		// Monotonic time stops during suspend, wall time does not: a gap
		// between the two means the laptop slept. logind's signal says so
		// sooner where it exists; this is the fallback.
		wallGap := now.Round(0).Sub(lastWall.Round(0))
		monoGap := now.Sub(lastMono)
		lastWall, lastMono = now, now
		if wallGap-monoGap > 2*interval+10*time.Second {
			c.log.Info("resume from sleep detected by the clock")
			sig |= Resumed
		}

		if now.Sub(untilChecked) >= interval {
			untilChecked = now
			c.mu.Lock()
			until := c.until
			c.mu.Unlock()
			if !until.IsZero() && !c.opts.Now().Before(until) && c.authorisationEnded(ctx) {
				return
			}
			c.warnIfEndingSoon(until)
		}

		st, serr := c.opts.Engine.Stats()
		if out.active {
			if sig&GatewayBack != 0 || serr == nil && st.LastHandshake.After(out.since) {
				c.log.Info("gateway answers again", "after", time.Since(out.since).Round(time.Millisecond), "handshakes", out.attempt)
				out = outage{}
				c.takeSignals() // about the tunnel that works now
				c.connected()
				continue
			}
			if sig&(NetworkChanged|Resumed) != 0 {
				// The way may be new: try it at once, from the start.
				out.rebind, out.attempt, out.next = true, 0, c.earliestTry(now)
			}
		} else {
			lost := sig&GatewayLost != 0 || serr != nil || st.LastHandshake.IsZero() || st.HandshakeAge(now) > c.opts.StaleAfter
			moved := sig&(NetworkChanged|Resumed) != 0
			if !lost && !moved {
				continue
			}
			c.log.Info("renewing the tunnel", "gateway_lost", sig&GatewayLost != 0, "network_changed", sig&NetworkChanged != 0,
				"resumed", sig&Resumed != 0, "stats_err", serr)
			out = outage{active: true, since: now, rebind: moved, next: c.earliestTry(now)}
			if lost || sig&Resumed != 0 {
				// After a network change the handshake usually comes back
				// at once, so Verbunden stands for the first try (renew
				// says Connecting if it goes unanswered). After a sleep
				// nothing is known of the tunnel: Verbunden from before
				// it would be a claim about a tunnel that may carry
				// nothing.
				out.connecting = true
				c.set(state.Connecting, msg(KeyReconnecting), true)
			}
		}
		if now.Before(out.next) {
			continue
		}
		if !c.renew(ctx, &out) {
			return
		}
	}
}

// renew sends one fresh handshake (or brings the tunnel up again where
// the engine cannot renew it in place) and schedules the next. It returns
// false when the session ended because the portal no longer authorises it.
func (c *Controller) renew(ctx context.Context, out *outage) bool {
	// The first tries go out at once: most losses are a gateway restart
	// or a new network, and asking the portal first would delay them.
	if out.attempt >= 2 && time.Since(out.asked) >= portalEvery {
		out.asked = time.Now()
		s, err := c.opts.Portal.SessionStatus(ctx)
		switch {
		case err == nil && !s.Authorised:
			c.expire()
			return false
		case errors.Is(err, portal.ErrDeviceUnauthorised):
			c.revoke()
			return false
		case err == nil && s.Until != nil:
			c.mu.Lock()
			c.until = *s.Until
			c.mu.Unlock()
		}
		if ctx.Err() != nil {
			return false
		}
	}
	c.mu.Lock()
	cfg := c.cfg
	c.mu.Unlock()
	rh, inPlace := c.opts.Engine.(Rehandshaker)
	if _, err := c.opts.Engine.Stats(); err != nil {
		inPlace = false // the device is gone (e.g. the helper restarted)
	}
	var err error
	if inPlace {
		if out.rebind {
			if err := rh.Rebind(); err != nil {
				c.log.Warn("rebinding the tunnel's sockets", "err", err)
			}
		}
		err = rh.Rehandshake()
	} else {
		err = c.opts.Engine.Up(ctx, cfg)
	}
	now := time.Now()
	c.mu.Lock()
	c.lastInit = now
	c.mu.Unlock()
	out.rebind = false
	out.attempt++
	out.next = now.Add(c.backoff(out.attempt))
	if err != nil {
		c.log.Info("renewing the tunnel failed", "attempt", out.attempt, "in_place", inPlace, "err", err)
	}
	switch {
	case out.attempt >= 3 && !out.shown:
		out.shown = true
		c.set(state.Problem, msg(KeyGatewayUnreachable), true)
	case out.attempt >= 2 && !out.connecting && !out.shown:
		// The first try after a network change went unanswered: no
		// longer Verbunden while the tunnel may carry nothing.
		out.connecting = true
		c.set(state.Connecting, msg(KeyReconnecting), true)
	}
	return ctx.Err() == nil
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
		return true // the supervisor is being stopped; End or Close decides
	}
	if errors.Is(err, portal.ErrDeviceUnauthorised) {
		c.revoke()
		return true
	}
	c.expire()
	return true
}

func (c *Controller) expire() {
	c.opts.Engine.Down()
	c.markStopped()
	c.mu.Lock()
	c.expired, c.endsSoon = true, false
	c.mu.Unlock()
	c.set(state.CodeNeeded, msg(KeyExpired), false)
	c.feed.Emit(Event{Kind: Expired, At: c.opts.Now()})
	c.log.Info("session authorisation ended; a new code is needed")
}

func (c *Controller) revoke() {
	c.opts.Engine.Down()
	c.markStopped()
	c.set(state.Problem, msg(portal.KeyDeviceUnauthorised), false)
	c.feed.Emit(Event{Kind: Revoked, At: c.opts.Now()})
	c.log.Warn("the portal no longer knows this device; session ended")
}
