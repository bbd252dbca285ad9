package tunnel

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Plan is what a system tunnel configures on the computer for one
// session, decided once here for every platform: the privileged helper's
// appliers (netlink and resolv.conf or systemd-resolved on Linux, the IP
// Helper API and NRPT on Windows) only carry it out. It holds no secret;
// the WireGuard configuration with the private key is UAPIConfig's.
type Plan struct {
	// MTU of the device.
	MTU int
	// Address is the device's own address, a single host (/32 or /128).
	Address netip.Prefix
	// Routes are the office networks to send through the device: masked,
	// each once, none inside another, in the portal's order.
	Routes []netip.Prefix
	// DNS is the office DNS; empty when the office sends none.
	DNS DNSPlan
	// Gateway is the WireGuard endpoint. It lies outside Routes, so its
	// encrypted packets take the normal way.
	Gateway          netip.AddrPort
	GatewayPublicKey string
	KeepaliveSeconds int
}

// DNSPlan is the office DNS of a plan.
type DNSPlan struct {
	// Servers are the office DNS servers, all inside the plan's Routes.
	Servers []netip.Addr
	// Domains are the office domains, lower-case, without trailing dot,
	// each once: the search list, and the names whose lookups go to
	// Servers where the system can route DNS by name (systemd-resolved's
	// routing domains, Windows NRPT rules).
	Domains []string
}

// Empty reports whether the plan sets no DNS.
func (d DNSPlan) Empty() bool { return len(d.Servers) == 0 }

// NewPlan checks cfg (as Validate does, filling in the MTU) with the
// gateway's resolved address and returns what to configure. The errors
// name what the office sent wrong; a helper answers them as a bad
// request.
func NewPlan(cfg Config, gateway netip.AddrPort) (Plan, error) {
	if err := cfg.validate(); err != nil {
		return Plan{}, err
	}
	if !gateway.IsValid() || gateway.Port() == 0 {
		return Plan{}, fmt.Errorf("gateway endpoint %q must be an address and port", gateway)
	}
	if err := checkEndpointAddr(gateway.Addr()); err != nil {
		return Plan{}, err
	}
	gw := gateway.Addr().Unmap()
	if cfg.Contains(gw) {
		// Its encrypted packets would be routed into the tunnel itself.
		return Plan{}, fmt.Errorf("the gateway %s lies inside the office networks it carries", gw)
	}
	if cfg.Address.Addr() == gw {
		// The gateway's address would become this host's own.
		return Plan{}, fmt.Errorf("the tunnel address %s is the gateway's", cfg.Address.Addr())
	}
	return Plan{
		MTU:              cfg.MTU,
		Address:          cfg.Address,
		Routes:           planRoutes(cfg.AllowedIPs),
		DNS:              DNSPlan{Servers: slices.Clone(cfg.DNS), Domains: planDomains(cfg.SearchDomains)},
		Gateway:          netip.AddrPortFrom(gw, gateway.Port()),
		GatewayPublicKey: cfg.GatewayPublicKey,
		KeepaliveSeconds: cfg.KeepaliveSeconds,
	}, nil
}

// planRoutes masks the office networks and drops repeats and networks
// inside another one: a second route to the same device adds nothing,
// and an exact repeat would fail as "already routed".
func planRoutes(allowed []netip.Prefix) []netip.Prefix {
	masked := make([]netip.Prefix, 0, len(allowed))
	for _, p := range allowed {
		masked = append(masked, p.Masked())
	}
	var out []netip.Prefix
	for i, p := range masked {
		covered := false
		for j, q := range masked {
			if i == j || q.Bits() > p.Bits() || !q.Contains(p.Addr()) {
				continue
			}
			// q covers p; of two equal ones the first stays.
			if q.Bits() < p.Bits() || j < i {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}

func planDomains(search []string) []string {
	var out []string
	for _, d := range search {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// SameNetwork reports whether p and q set up the same device, routes and
// DNS, so that moving from one to the other only reconfigures WireGuard
// (new keys or gateway after a network change).
func (p Plan) SameNetwork(q Plan) bool {
	return p.Address == q.Address && p.MTU == q.MTU && slices.Equal(p.Routes, q.Routes) &&
		slices.Equal(p.DNS.Servers, q.DNS.Servers) && slices.Equal(p.DNS.Domains, q.DNS.Domains)
}
