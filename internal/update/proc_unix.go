//go:build unix

package update

import (
	"os"
	"syscall"
)

// detachedAttr puts the new agent in its own session so that it survives
// the supervising old process and its terminal.
func detachedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// Reexec replaces this process with exe (the restored previous version
// after a rollback), keeping the process id.
func Reexec(exe string, args []string) error {
	return syscall.Exec(exe, append([]string{exe}, args...), os.Environ())
}
