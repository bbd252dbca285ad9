package helperapi

import (
	"context"
	"net"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// DefaultPipe is where the helper listens on Windows: a named pipe,
// reachable from this computer only.
const DefaultPipe = `\\.\pipe\dienstweg-helper`

// DialPipe opens a connection to the helper's pipe at path (""
// means DefaultPipe). The caller lets the helper see its identity (the
// identification level, which does not let the helper act as the
// caller): the helper reads the user and groups from that token and
// refuses an anonymous one.
func DialPipe(ctx context.Context, path string) (net.Conn, error) {
	if path == "" {
		path = DefaultPipe
	}
	return winio.DialPipeAccessImpLevel(ctx, path, windows.GENERIC_READ|windows.GENERIC_WRITE, winio.PipeImpLevelIdentification)
}
