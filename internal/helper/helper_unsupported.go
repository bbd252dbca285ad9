//go:build !linux && !windows

package helper

import "context"

// Run is not available on this system: system mode needs the Linux or
// Windows helper; use the userspace engine.
func Run(ctx context.Context, opts Options) error {
	if err := opts.defaults(); err != nil {
		return err
	}
	return ErrNotSupported
}
