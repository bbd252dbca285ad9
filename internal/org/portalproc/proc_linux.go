package portalproc

import (
	"os/exec"
	"runtime"
	"syscall"
)

// StartChild starts cmd so that it gets SIGKILL when this process dies
// (e.g. a test binary killed at its timeout) and no server is left
// listening, and closes done when it has exited. Pdeathsig fires when the
// thread that forked the child ends, so that goroutine stays locked to its
// thread until the child exits.
func StartChild(cmd *exec.Cmd, done chan struct{}) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(done)
	}()
	return <-started
}
