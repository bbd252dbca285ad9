//go:build !windows

package health

import (
	"errors"
	"syscall"
)

// isRefused reports a connection the other side refused.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
