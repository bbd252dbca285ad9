package helper

import (
	"context"
	"fmt"
)

// Run on Windows is not implemented yet. The plan (docs/helper.md): a
// Windows service running this role, the TUN device from wintun
// (golang.zx2c4.com/wireguard/tun.CreateTUN uses it), addresses and
// routes through the IP Helper API, and the API on a named pipe
// (golang.zx2c4.com/wireguard/ipc/namedpipe) whose security descriptor
// admits SYSTEM, Administrators and the allowed group.
func Run(ctx context.Context, opts Options) error {
	if err := opts.defaults(); err != nil {
		return err
	}
	return fmt.Errorf("windows: %w", ErrNotSupported)
}
