// Package helper is the privileged half of system mode (`dienstweg
// helper`, run as root by systemd): it owns the TUN device, its address
// and routes, and the office DNS setting, and offers the agent a small
// HTTP API on a root-owned local socket (see package helperapi and
// tunnel.System). Only root and the users the packaging allows may use
// the socket; the kernel's peer credentials (SO_PEERCRED) decide, not
// anything the client says.
//
// The private key arrives with each session and is kept in memory only.
// Everything the helper changes on the system is first written to a small
// state file, so that after a crash the next start removes it: no device,
// route or DNS entry is left behind.
package helper

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
)

// Options configure the helper. Zero fields take the documented defaults.
type Options struct {
	// Socket is the unix socket path. Default helperapi.DefaultSocket.
	Socket string
	// SocketMode is the socket's permission bits. Default 0660: root and
	// Group may connect; peer credentials are checked as well.
	SocketMode os.FileMode
	// Group is the name of the group whose members may use the helper,
	// besides root. Default "dienstweg"; "-" means no group. A group that
	// does not exist allows nobody (a warning is logged).
	Group string
	// AllowUIDs are further users allowed to use the helper.
	AllowUIDs []int
	// StateDir holds the state file. Default "/run/dienstweg".
	StateDir string
	// Interface is the TUN device's name, at most 15 bytes. Default
	// "dienstweg0". It must be unique on the host: wireguard-go's control
	// sockets are shared across network namespaces.
	Interface string
	// DNS selects how the office DNS is set: "auto" (default:
	// systemd-resolved when it runs, else the resolv.conf file),
	// "resolved", "file", or "off".
	DNS string
	// ResolvConf is the file the "file" method edits. Default
	// "/etc/resolv.conf".
	ResolvConf string
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// ErrNotSupported is returned on systems the helper does not run on yet.
var ErrNotSupported = errors.New("the system-mode helper is not supported on this system yet")

// DNS methods.
const (
	DNSAuto     = "auto"
	DNSResolved = "resolved"
	DNSFile     = "file"
	DNSOff      = "off"
)

func (o *Options) defaults() error {
	if o.Socket == "" {
		o.Socket = helperapi.DefaultSocket
	}
	if o.SocketMode == 0 {
		o.SocketMode = 0o660
	}
	if o.Group == "" {
		o.Group = "dienstweg"
	}
	if o.StateDir == "" {
		o.StateDir = "/run/dienstweg"
	}
	if o.Interface == "" {
		o.Interface = "dienstweg0"
	}
	if len(o.Interface) > 15 {
		return fmt.Errorf("interface name %q is longer than 15 bytes", o.Interface)
	}
	if o.DNS == "" {
		o.DNS = DNSAuto
	}
	switch o.DNS {
	case DNSAuto, DNSResolved, DNSFile, DNSOff:
	default:
		return fmt.Errorf("unknown dns method %q (auto, resolved, file, off)", o.DNS)
	}
	if o.ResolvConf == "" {
		o.ResolvConf = "/etc/resolv.conf"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

func (o *Options) statePath() string { return filepath.Join(o.StateDir, "helper-state.json") }
