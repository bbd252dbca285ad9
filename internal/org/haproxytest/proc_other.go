//go:build !linux

package haproxytest

import "os/exec"

// startChild starts cmd and closes done when it has exited.
func startChild(cmd *exec.Cmd, done chan struct{}) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { cmd.Wait(); close(done) }()
	return nil
}
