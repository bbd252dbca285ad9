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
	"strconv"
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
	// MTU; 0 means 1420, else 1280–9000.
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

// Gateway is one of the organisation's gateways a device may use.
type Gateway struct {
	Endpoint  string
	PublicKey string
}

// GatewaysOf lists the gateways of the portal's tunnel profile in the
// order to try them: all of them where the portal sends the list, else
// (a portal before issue 18) the one gateway.
func GatewaysOf(t api.Tunnel) []Gateway {
	out := make([]Gateway, 0, max(1, len(t.Gateways)))
	for _, g := range t.Gateways {
		out = append(out, Gateway{Endpoint: g.Endpoint, PublicKey: g.PublicKey})
	}
	if len(out) == 0 {
		out = append(out, Gateway{Endpoint: t.GatewayEndpoint, PublicKey: t.GatewayPublicKey})
	}
	return out
}

// Gateway is the gateway c uses.
func (c Config) Gateway() Gateway {
	return Gateway{Endpoint: c.GatewayEndpoint, PublicKey: c.GatewayPublicKey}
}

// WithGateway is c with its peer moved to g.
func (c Config) WithGateway(g Gateway) Config {
	c.GatewayEndpoint, c.GatewayPublicKey = g.Endpoint, g.PublicKey
	return c
}

// sameDevice reports whether a and b (both validated) differ only in
// the gateway peer, so the running device can move to b's gateway
// without a new netstack.
func sameDevice(a, b Config) bool {
	return a.PrivateKey == b.PrivateKey && a.Address == b.Address && a.MTU == b.MTU &&
		slices.Equal(a.DNS, b.DNS) && slices.Equal(a.SearchDomains, b.SearchDomains) &&
		slices.Equal(a.AllowedIPs, b.AllowedIPs)
}

// Limits of a configuration: generous for any office, small enough that
// no caller makes the helper add thousands of routes or resolv.conf
// lines.
const (
	maxAllowedIPs    = 256
	maxDNSServers    = 3 // glibc reads no more (MAXNS)
	maxSearchDomains = 8
	// defaultMTU leaves room for WireGuard's 80 bytes in a 1500 path.
	defaultMTU = 1420
	// The MTU is at least IPv6's minimum (a smaller one carries nothing
	// useful) and at most a jumbo frame (no home line carries more).
	minMTU = 1280
	maxMTU = 9000
)

// reserved are networks a tunnel neither routes nor takes addresses
// from: this host's own (loopback, "this network"), the local link's
// (link-local, multicast, broadcast and class E), and IPv4-mapped IPv6,
// which would alias IPv4 routes.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("::ffff:0:0/96"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

func overlapsReserved(p netip.Prefix) (netip.Prefix, bool) {
	for _, r := range reserved {
		if p.Overlaps(r) {
			return r, true
		}
	}
	return netip.Prefix{}, false
}

// validate checks everything in c, which the privileged helper gets from
// its caller: nothing in it may take the tunnel beyond the office
// networks, into this host's own networks, or into the lines of
// resolv.conf and the WireGuard configuration. It fills in the MTU.
func (c *Config) validate() error {
	a := c.Address
	if !a.IsValid() {
		return errors.New("tunnel address missing")
	}
	if a.Bits() != a.Addr().BitLen() {
		// A wider prefix would make the kernel route all of it here.
		return fmt.Errorf("tunnel address %s must be a single address (/%d)", a, a.Addr().BitLen())
	}
	if r, bad := overlapsReserved(a); bad {
		return fmt.Errorf("tunnel address %s lies in the reserved network %s", a, r)
	}
	if _, err := wgconf.HexKey(c.PrivateKey); err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	if _, err := wgconf.HexKey(c.GatewayPublicKey); err != nil {
		return fmt.Errorf("gateway public key: %w", err)
	}
	if err := checkEndpoint(c.GatewayEndpoint); err != nil {
		return err
	}
	if len(c.AllowedIPs) == 0 {
		return errors.New("no office networks (allowed ips)")
	}
	if len(c.AllowedIPs) > maxAllowedIPs {
		return fmt.Errorf("%d office networks, at most %d", len(c.AllowedIPs), maxAllowedIPs)
	}
	for _, p := range c.AllowedIPs {
		if !p.IsValid() {
			return errors.New("an office network (allowed ip) is empty")
		}
		if p.Bits() == 0 {
			return fmt.Errorf("office network %s is a default route: the tunnel carries only office networks", p)
		}
		if r, bad := overlapsReserved(p); bad {
			return fmt.Errorf("office network %s overlaps the reserved network %s", p, r)
		}
	}
	if len(c.DNS) > maxDNSServers {
		return fmt.Errorf("%d DNS servers, at most %d", len(c.DNS), maxDNSServers)
	}
	for _, d := range c.DNS {
		// Office DNS is reached through the tunnel; anything else would
		// hand the computer's name lookups to a server outside it.
		if !d.IsValid() || d.Zone() != "" || !c.Contains(d) {
			return fmt.Errorf("DNS server %q is not in the office networks", d)
		}
	}
	if len(c.SearchDomains) > maxSearchDomains {
		return fmt.Errorf("%d search domains, at most %d", len(c.SearchDomains), maxSearchDomains)
	}
	for _, d := range c.SearchDomains {
		if !IsHostName(d) {
			return fmt.Errorf("search domain %q is not a domain name", d)
		}
	}
	if c.KeepaliveSeconds < 0 || c.KeepaliveSeconds > 65535 {
		return errors.New("keepalive out of range")
	}
	if c.MTU == 0 {
		c.MTU = defaultMTU
	}
	if c.MTU < minMTU || c.MTU > maxMTU {
		return fmt.Errorf("MTU %d out of range %d–%d", c.MTU, minMTU, maxMTU)
	}
	return nil
}

// checkEndpoint checks the gateway's host:port before it is resolved: a
// host name or an address, and a numeric port.
func checkEndpoint(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("gateway endpoint %q: %w", hostport, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("gateway endpoint %q: port must be 1–65535", hostport)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return checkEndpointAddr(a)
	}
	if !IsHostName(host) {
		return fmt.Errorf("gateway endpoint %q: not a host name or address", hostport)
	}
	return nil
}

// checkEndpointAddr refuses addresses no gateway can have: WireGuard
// would send to this host itself (unspecified), to a group or to the
// whole link.
func checkEndpointAddr(a netip.Addr) error {
	u := a.Unmap()
	if u.Zone() != "" || u.IsUnspecified() || u.IsMulticast() || u == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Errorf("gateway endpoint address %s cannot be a gateway", a)
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

// resolveEndpoint turns host:port, checked by checkEndpoint, into an
// address, preferring IPv4 as the reachable family on most home
// networks.
func resolveEndpoint(ctx context.Context, hostport string) (netip.AddrPort, error) {
	if err := checkEndpoint(hostport); err != nil {
		return netip.AddrPort{}, err
	}
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap, nil
	}
	host, port, _ := net.SplitHostPort(hostport)
	pn, _ := strconv.ParseUint(port, 10, 16)
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolving gateway %s: %w", host, err)
	}
	// A name may resolve to anything; only addresses a gateway can have.
	addrs = slices.DeleteFunc(addrs, func(a netip.Addr) bool { return checkEndpointAddr(a) != nil })
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolving gateway %s: no usable address", host)
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
