//go:build !linux

package office

import (
	"context"
	"net"
)

// OutsideTunnel dials as any program does. Off Linux the route of the
// connection is not looked at yet, so the agent does not check while its
// own tunnel runs (Watcher's Paused), where the office host would answer
// through it.
func OutsideTunnel(resolver *net.Resolver) DialFunc {
	d := net.Dialer{Resolver: resolver}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		return d.DialContext(ctx, network, address)
	}
}
