package tunnel

import (
	"context"
	"net"

	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
)

// defaultHelperSocket is the helper service's named pipe.
const defaultHelperSocket = helperapi.DefaultPipe

// helperDialer dials the helper's pipe with the identification level
// and checks that SYSTEM or Administrators own it (helperapi.DialPipe).
func helperDialer(pipe string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) { return helperapi.DialPipe(ctx, pipe) }
}
