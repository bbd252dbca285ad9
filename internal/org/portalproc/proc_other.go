//go:build !linux

package portalproc

import "os/exec"

// StartChild starts cmd and closes done when it has exited.
func StartChild(cmd *exec.Cmd, done chan struct{}) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { cmd.Wait(); close(done) }()
	return nil
}
