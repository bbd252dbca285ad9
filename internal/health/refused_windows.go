package health

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// isRefused reports a connection the other side refused. Windows says so
// with Winsock's own code, which syscall.ECONNREFUSED does not match.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, windows.WSAECONNREFUSED)
}
