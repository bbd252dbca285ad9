package keyringtest

import "syscall"

// daemonProcAttr stops the keyring daemon when the test binary dies
// (panic, timeout): then cleanups do not run, and it would outlive the test.
func daemonProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
