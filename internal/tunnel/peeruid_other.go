//go:build !linux

package tunnel

import (
	"errors"
	"net"
)

// peerCheckAvailable: this system has no peer lookup yet, so the SOCKS
// proxy does not run (see socksServer.admit).
const peerCheckAvailable = false

var errNoPeerCheck = errors.New("cannot tell which user owns a TCP connection on this system")

func tcpPeerUID(net.Conn) (int, error) { return -1, errNoPeerCheck }
