package agent

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// engine is the tunnel as the agent uses it: what the session controller
// drives plus what the health checks read.
type engine interface {
	session.Engine
	LookupHost(ctx context.Context, host string) ([]netip.Addr, error)
	Current() (tunnel.Config, error)
}

// healthTunnel adapts the engine to health.Tunnel.
type healthTunnel struct{ e engine }

func (h healthTunnel) LastHandshake() (time.Time, error) {
	st, err := h.e.Stats()
	return st.LastHandshake, err
}

func (h healthTunnel) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return h.e.DialContext(ctx, network, address)
}

func (h healthTunnel) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	return h.e.LookupHost(ctx, host)
}

// newHealth builds the chain of checks; an announcement of IT that covers
// a failing link goes into the diagnosis. Health only observes: its
// verdict goes to the session's supervisor and into the projection
// (mirrorSession).
func (a *Agent) newHealth() *health.Monitor {
	covering := health.AnnouncementsFunc(func(component string, now time.Time) (health.Cover, bool) {
		it := a.announce.Covering(component, now)
		if it == nil {
			return health.Cover{}, false
		}
		return health.Cover{Outage: it.Severity == announce.SeverityOutage, Title: it.Title, Until: it.ValidUntil}, true
	})
	return health.New(health.Deps{Store: a.store, Portal: a.portal, Announcements: covering, Log: a.log},
		health.ConfigFromProfile(a.opts.Profile))
}

// tunnelStarted tells the health checks that a session's tunnel is up,
// so they probe through it while it exists.
func (a *Agent) tunnelStarted() bool {
	if a.engine == nil {
		return false
	}
	cfg, err := a.engine.Current()
	if err != nil {
		return false
	}
	probe := ""
	if len(cfg.DNS) > 0 {
		// Any answer, even a refusal, proves the way through.
		probe = netip.AddrPortFrom(cfg.DNS[0], 53).String()
	}
	a.health.SessionStarted(healthTunnel{a.engine}, probe)
	return true
}
