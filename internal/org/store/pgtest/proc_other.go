//go:build !linux

package pgtest

import (
	"errors"
	"os/exec"
)

// The organisation side runs on Linux; elsewhere the kit only compiles.
var errLinuxOnly = errors.New("pgtest runs PostgreSQL on Linux only")

type runAs struct{}

func serverUser() (*runAs, error)      { return nil, errLinuxOnly }
func (r *runAs) chown(string) error    { return errLinuxOnly }
func (r *runAs) apply(*exec.Cmd) error { return errLinuxOnly }

type serverProcess struct{}

func startServer(string, []string, string, string, *runAs) (*serverProcess, error) {
	return nil, errLinuxOnly
}
func (p *serverProcess) exited() bool { return true }
func serverAlive(string) bool         { return false }
func (p *serverProcess) stop() error  { return errLinuxOnly }
