//go:build !unix

package update

import (
	"os"
	"os/exec"
	"syscall"
)

func detachedAttr() *syscall.SysProcAttr { return nil }

// Reexec starts exe and exits this process: Windows has no exec.
func Reexec(exe string, args []string) error {
	cmd := exec.Command(exe, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	os.Exit(0)
	return nil
}
