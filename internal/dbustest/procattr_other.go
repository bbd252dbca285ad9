//go:build !linux

package dbustest

import "syscall"

// daemonProcAttr has no parent-death signal outside Linux.
func daemonProcAttr() *syscall.SysProcAttr { return nil }
