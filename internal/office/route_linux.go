//go:build linux

package office

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// tunnelKinds are link types that carry a tunnel: ours (a TUN device of
// wireguard-go) or any other VPN. An office host reached through one of
// them proves nothing about the network this computer sits in.
var tunnelKinds = map[string]bool{
	"tuntap": true, "wireguard": true, "ipip": true, "gre": true, "gretap": true,
	"sit": true, "ip6tnl": true, "vti": true, "vti6": true, "xfrm": true,
}

// OutsideTunnel dials only over a link that is not a tunnel: for each
// address of the host it asks the kernel which link the route takes, and
// refuses a tunnel's. The socket is bound to that link (SO_BINDTODEVICE,
// allowed without privileges since Linux 5.7), so a route that changes
// between the look-up and the connect cannot move it into the tunnel.
// resolver nil means net.DefaultResolver.
func OutsideTunnel(resolver *net.Resolver) DialFunc {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		addrs, err := resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("looking up %s: %w", host, err)
		}
		var firstErr error
		for _, ip := range addrs {
			c, err := dialOutside(ctx, network, ip.Unmap(), port)
			if err == nil {
				return c, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return nil, firstErr
	}
}

func dialOutside(ctx context.Context, network string, ip netip.Addr, port string) (net.Conn, error) {
	routes, err := netlink.RouteGet(net.IP(ip.AsSlice()))
	if err != nil {
		return nil, fmt.Errorf("no route to %s: %w", ip, err)
	}
	if len(routes) == 0 {
		return nil, fmt.Errorf("no route to %s", ip)
	}
	link, err := netlink.LinkByIndex(routes[0].LinkIndex)
	if err != nil {
		return nil, fmt.Errorf("the link of the route to %s: %w", ip, err)
	}
	name := link.Attrs().Name
	if tunnelKinds[link.Type()] {
		return nil, fmt.Errorf("%s is reached only through the tunnel %s (%s)", ip, name, link.Type())
	}
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), name) }); err != nil {
			return err
		}
		return serr
	}}
	return d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
}
