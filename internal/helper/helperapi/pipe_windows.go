package helperapi

import (
	"context"
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// DefaultPipe is where the helper listens on Windows: a named pipe,
// reachable from this computer only.
const DefaultPipe = `\\.\pipe\dienstweg-helper`

// pipeAccess is what the agent asks for on the pipe: read, write and
// read its owner, not FILE_GENERIC_WRITE (its FILE_APPEND_DATA is the
// right to create pipe instances, which the allowed group lacks).
const pipeAccess = windows.FILE_GENERIC_READ | windows.FILE_WRITE_DATA

// DialPipe opens a connection to the helper's pipe at path (""
// means DefaultPipe). The caller lets the helper see its identity (the
// identification level, which does not let the helper act as the
// caller): the helper reads the user and groups from that token and
// refuses an anonymous one. The pipe must be owned by SYSTEM or
// Administrators: a pipe of that name made by anyone else (while the
// service is stopped) would receive the session's private key.
func DialPipe(ctx context.Context, path string) (net.Conn, error) {
	if path == "" {
		path = DefaultPipe
	}
	c, err := winio.DialPipeAccessImpLevel(ctx, path, pipeAccess, winio.PipeImpLevelIdentification)
	if err != nil {
		return nil, err
	}
	if err := checkPipeOwner(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func checkPipeOwner(c net.Conn) error {
	fd, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return fmt.Errorf("not a pipe: %T", c)
	}
	sd, err := windows.GetSecurityInfo(windows.Handle(fd.Fd()), windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the pipe's owner: %w", err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("reading the pipe's owner: %w", err)
	}
	if !owner.IsWellKnown(windows.WinLocalSystemSid) && !owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) {
		return fmt.Errorf("the pipe belongs to %s, not to SYSTEM or Administrators: not the Dienstweg helper", owner)
	}
	return nil
}
