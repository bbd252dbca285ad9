//go:build !linux

package localapi

import "net"

func peerUID(net.Conn) (int, error) { return -1, errNoPeerCred }
