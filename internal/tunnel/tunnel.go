// Package tunnel is the client side of the home-office tunnel: one Engine
// interface and its engines. The userspace engine runs WireGuard with a
// gVisor netstack inside the agent (no privileges) and offers a local
// SOCKS5 proxy so other programs can use the tunnel too.
package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal/api"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// Engine carries the tunnel to the office. Implementations are safe for
// concurrent use. Up on an engine that is up replaces the configuration
// (a reconnect); Down on an engine that is down does nothing.
type Engine interface {
	Up(ctx context.Context, cfg Config) error
	Down() error
	// Stats reports the handshake and traffic; ErrDown when down.
	Stats() (Stats, error)
	// DialContext connects through the tunnel only: names are resolved by
	// the office DNS, addresses outside the office networks are refused.
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	// LookupHost resolves a name with the office DNS through the tunnel,
	// trying the search domains for a name without a dot.
	LookupHost(ctx context.Context, host string) ([]netip.Addr, error)
}

// ErrDown is returned while no tunnel is up.
var ErrDown = errors.New("tunnel is down")

// ErrNotInTunnel is returned for a destination outside the office
// networks: the tunnel carries only those, never general traffic.
var ErrNotInTunnel = errors.New("destination is not in the office network")

// Config is what an engine needs to bring the tunnel up.
type Config struct {
	// PrivateKey is the device's base64 private key. Keep it in memory
	// only as long as the tunnel needs it.
	PrivateKey string
	// Address is the device's tunnel address, e.g. 10.77.0.10/32.
	Address netip.Prefix
	// DNS servers reached through the tunnel, and search domains.
	DNS           []netip.Addr
	SearchDomains []string
	// GatewayEndpoint is host:port; a name is resolved at Up.
	GatewayEndpoint  string
	GatewayPublicKey string
	// AllowedIPs are the office networks.
	AllowedIPs []netip.Prefix
	// KeepaliveSeconds; 0 means off.
	KeepaliveSeconds int
	// MTU; 0 means 1420.
	MTU int
}

// FromProfile builds a Config from the portal's tunnel profile.
func FromProfile(t api.Tunnel, privateKey string) Config {
	return Config{
		PrivateKey:       privateKey,
		Address:          t.Address,
		DNS:              slices.Clone(t.DNS),
		SearchDomains:    slices.Clone(t.SearchDomains),
		GatewayEndpoint:  t.GatewayEndpoint,
		GatewayPublicKey: t.GatewayPublicKey,
		AllowedIPs:       slices.Clone(t.AllowedIPs),
		KeepaliveSeconds: t.KeepaliveSeconds,
	}
}

func (c *Config) validate() error {
	if !c.Address.IsValid() {
		return errors.New("tunnel address missing")
	}
	if _, err := wgconf.HexKey(c.PrivateKey); err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	if _, err := wgconf.HexKey(c.GatewayPublicKey); err != nil {
		return fmt.Errorf("gateway public key: %w", err)
	}
	if len(c.AllowedIPs) == 0 {
		return errors.New("no office networks (allowed ips)")
	}
	if c.KeepaliveSeconds < 0 || c.KeepaliveSeconds > 65535 {
		return errors.New("keepalive out of range")
	}
	if c.MTU == 0 {
		c.MTU = 1420
	}
	return nil
}

// Contains reports whether a is in the office networks.
func (c *Config) Contains(a netip.Addr) bool {
	a = a.Unmap()
	return slices.ContainsFunc(c.AllowedIPs, func(p netip.Prefix) bool { return p.Contains(a) })
}

// Stats describe the tunnel as wireguard-go sees it.
type Stats struct {
	// LastHandshake is zero before the first completed handshake.
	LastHandshake time.Time
	RxBytes       uint64
	TxBytes       uint64
	// Endpoint is the gateway address in use.
	Endpoint netip.AddrPort
}

// HandshakeAge is how long ago the last handshake was at now, or -1 if
// there was none.
func (s Stats) HandshakeAge(now time.Time) time.Duration {
	if s.LastHandshake.IsZero() {
		return -1
	}
	return now.Sub(s.LastHandshake)
}

// resolveEndpoint turns host:port into an address, preferring IPv4 as
// the reachable family on most home networks.
func resolveEndpoint(ctx context.Context, hostport string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap, nil
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("gateway endpoint %q: %w", hostport, err)
	}
	pn, err := net.DefaultResolver.LookupPort(ctx, "udp", port)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("gateway endpoint port: %w", err)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolving gateway %s: %w", host, err)
	}
	slices.SortStableFunc(addrs, func(a, b netip.Addr) int {
		switch {
		case a.Unmap().Is4() && !b.Unmap().Is4():
			return -1
		case !a.Unmap().Is4() && b.Unmap().Is4():
			return 1
		}
		return 0
	})
	return netip.AddrPortFrom(addrs[0].Unmap(), uint16(pn)), nil
}

// uapiConfig is the wireguard-go configuration of cfg, replacing all
// earlier peers.
func uapiConfig(cfg Config, ep netip.AddrPort) (string, error) {
	priv, err := wgconf.HexKey(cfg.PrivateKey)
	if err != nil {
		return "", err
	}
	pub, err := wgconf.HexKey(cfg.GatewayPublicKey)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "private_key=%s\nreplace_peers=true\npublic_key=%s\nendpoint=%s\npersistent_keepalive_interval=%d\nreplace_allowed_ips=true\n",
		priv, pub, ep, cfg.KeepaliveSeconds)
	for _, p := range cfg.AllowedIPs {
		fmt.Fprintf(&b, "allowed_ip=%s\n", p.Masked())
	}
	return b.String(), nil
}

// candidates are the names to try for host: as given if it has a dot
// (or ends in one), else with each search domain first.
func candidates(host string, search []string) []string {
	host = strings.TrimSuffix(host, ".")
	if strings.Contains(host, ".") {
		return []string{host}
	}
	out := make([]string, 0, len(search)+1)
	for _, d := range search {
		out = append(out, host+"."+strings.Trim(d, "."))
	}
	return append(out, host)
}

// lookupSearch resolves host with resolve, trying the search domains for
// a short name as a resolver would, and returns the first name's
// addresses (IPv4-mapped ones unmapped). Both engines use it; they differ
// only in how one name is resolved.
func lookupSearch(ctx context.Context, host string, search []string, resolve func(ctx context.Context, name string) ([]netip.Addr, error)) ([]netip.Addr, error) {
	var lastErr error
	for _, name := range candidates(host, search) {
		addrs, err := resolve(ctx, name)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		out := make([]netip.Addr, 0, len(addrs))
		for _, a := range addrs {
			out = append(out, a.Unmap())
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	if lastErr == nil {
		lastErr = &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return nil, lastErr
}
