//go:build !windows

package tunnel

import (
	"context"
	"net"

	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
)

// defaultHelperSocket is the helper's unix socket.
const defaultHelperSocket = helperapi.DefaultSocket

// helperDialer dials the helper's unix socket.
func helperDialer(sock string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}
}
