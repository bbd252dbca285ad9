package agent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// helperProbeTimeout bounds a look at the helper: it answers from
// memory, so a helper that takes longer is as good as missing.
const helperProbeTimeout = 3 * time.Second

// helperProber is the system engine as the chooser asks it: whether the
// helper answers.
type helperProber interface {
	engine
	Probe(ctx context.Context) error
}

// systemProber adds Probe to tunnel.System.
type systemProber struct{ *tunnel.System }

func (s systemProber) Probe(ctx context.Context) error {
	_, err := s.HelperStatus(ctx)
	return err
}

// tunnelChooser is the engine the session drives: at each start it asks
// whether the privileged helper answers and runs the system tunnel
// through it, or, where the profile allows, the userspace tunnel. It
// publishes what it found, so the status window can say what works.
// Safe for concurrent use.
type tunnelChooser struct {
	policy    string // profile.TunnelSystem, TunnelAuto or TunnelUserspace
	system    helperProber
	userspace engine
	proxy     string // the userspace engine's SOCKS address, "" for none
	report    func(state.Tunnel)
	log       *slog.Logger

	op     sync.Mutex // serialises Up, Down and probes
	mu     sync.RWMutex
	active engine // the engine of the last Up; nil before
}

var _ engine = (*tunnelChooser)(nil)

// probe looks at the helper and reports the mode a start would use now.
// op is held.
func (c *tunnelChooser) probe(ctx context.Context) state.Tunnel {
	t := state.Tunnel{Policy: c.policy}
	if c.policy != profile.TunnelUserspace {
		pctx, cancel := context.WithTimeout(ctx, helperProbeTimeout)
		err := c.system.Probe(pctx)
		cancel()
		t.Helper = helperFinding(err)
		if t.Helper != state.HelperAnswers {
			c.log.Info("the tunnel helper is not usable", "policy", c.policy, "finding", t.Helper, "err", err)
		}
	}
	switch {
	case t.Helper == state.HelperAnswers:
		t.Mode = state.TunnelModeSystem
	case c.policy != profile.TunnelSystem:
		t.Mode, t.Proxy = state.TunnelModeUserspace, c.proxy
	}
	c.report(t)
	return t
}

// helperFinding classifies a probe's error: a refusal from the helper
// itself means it runs; anything else that it does not.
func helperFinding(err error) string {
	var he *tunnel.HelperError
	switch {
	case err == nil:
		return state.HelperAnswers
	case errors.As(err, &he) && he.Status == http.StatusForbidden:
		return state.HelperRefused
	case errors.As(err, &he):
		// It answered, with an error of its own: it runs, and a start
		// will say what is wrong.
		return state.HelperAnswers
	}
	return state.HelperMissing
}

// Probe looks at the helper and publishes what a start would do, e.g.
// when the agent starts.
func (c *tunnelChooser) Probe(ctx context.Context) {
	c.op.Lock()
	defer c.op.Unlock()
	c.probe(ctx)
}

// Up chooses the engine afresh (the helper may have been installed,
// started or stopped since) and brings the tunnel up with it.
func (c *tunnelChooser) Up(ctx context.Context, cfg tunnel.Config) error {
	c.op.Lock()
	defer c.op.Unlock()
	t := c.probe(ctx)
	var next engine
	switch t.Mode {
	case state.TunnelModeSystem:
		next = c.system
	case state.TunnelModeUserspace:
		next = c.userspace
	default:
		key := situation.KeyHelperMissing
		if t.Helper == state.HelperRefused {
			key = situation.KeyHelperRefused
		}
		return problem.New(problem.Unavailable, key, errors.New("the profile needs the system tunnel and the tunnel helper is not usable"))
	}
	c.mu.RLock()
	prev := c.active
	c.mu.RUnlock()
	if prev != nil && prev != next {
		if err := prev.Down(); err != nil {
			c.log.Warn("ending the tunnel of the other mode", "err", err)
		}
	}
	c.mu.Lock()
	c.active = next
	c.mu.Unlock()
	return next.Up(ctx, cfg)
}

// Down ends the tunnel of the last Up.
func (c *tunnelChooser) Down() error {
	c.op.Lock()
	defer c.op.Unlock()
	if e := c.current(); e != nil {
		return e.Down()
	}
	return nil
}

func (c *tunnelChooser) current() engine {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.active
}

func (c *tunnelChooser) Stats() (tunnel.Stats, error) {
	if e := c.current(); e != nil {
		return e.Stats()
	}
	return tunnel.Stats{}, tunnel.ErrDown
}

func (c *tunnelChooser) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if e := c.current(); e != nil {
		return e.DialContext(ctx, network, address)
	}
	return nil, tunnel.ErrDown
}

func (c *tunnelChooser) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if e := c.current(); e != nil {
		return e.LookupHost(ctx, host)
	}
	return nil, tunnel.ErrDown
}

func (c *tunnelChooser) Current() (tunnel.Config, error) {
	if e := c.current(); e != nil {
		return e.Current()
	}
	return tunnel.Config{}, tunnel.ErrDown
}
