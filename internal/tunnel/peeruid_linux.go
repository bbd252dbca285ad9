//go:build linux

package tunnel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// peerCheckAvailable: the kernel can name the owner of a loopback TCP
// connection's far end.
const peerCheckAvailable = true

// Sizes and offsets from linux/inet_diag.h.
const (
	inetDiagReqV2Len = 56 // struct inet_diag_req_v2
	inetDiagMsgLen   = 72 // struct inet_diag_msg
	inetDiagUIDOff   = 64 // inet_diag_msg.idiag_uid
	inetDiagInodeOff = 68 // inet_diag_msg.idiag_inode
	inetDiagNoCookie = 0xffffffff
	tcpTimeWait      = 6 // TCP_TIME_WAIT in inet_diag_msg.idiag_state
)

// tcpPeerUID returns the uid that owns the other end of c, a TCP
// connection between two sockets of this network namespace. The kernel
// answers (sock_diag: an exact INET_DIAG lookup of the peer socket's
// 4-tuple), so the peer cannot claim another identity. It fails for a
// far end that is not a live socket of a process here: one from another
// host, or one already closed (the kernel no longer knows an owner).
func tcpPeerUID(c net.Conn) (int, error) {
	la, lok := c.LocalAddr().(*net.TCPAddr)
	ra, rok := c.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok {
		return -1, fmt.Errorf("peer of a %T: not a TCP connection", c)
	}
	// The peer's socket is bound to our remote address and connected to
	// our local one.
	src, dst := ra.AddrPort(), la.AddrPort()
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if !src.Addr().IsLoopback() {
		return -1, fmt.Errorf("peer %s is not on this computer", src)
	}
	uid, err := sockDiagOwner(src, dst)
	if err != nil {
		return -1, fmt.Errorf("finding the owner of %s: %w", src, err)
	}
	return uid, nil
}

// sockDiagOwner asks the kernel for the owner of the TCP socket bound to
// src and connected to dst.
func sockDiagOwner(src, dst netip.AddrPort) (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, fmt.Errorf("opening sock_diag: %w", err)
	}
	defer unix.Close(fd)
	// The kernel answers an exact lookup before sendto returns; the
	// timeout only guards against a kernel that does not.
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return -1, fmt.Errorf("sock_diag timeout: %w", err)
	}
	const seq = 1
	req := inetDiagRequest(src, dst, seq)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return -1, fmt.Errorf("sock_diag request: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return -1, fmt.Errorf("sock_diag answer: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return -1, fmt.Errorf("sock_diag answer: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue // not ours
			}
			return parseInetDiagAnswer(m, src, dst)
		}
	}
}

// inetDiagRequest is a netlink message asking for the TCP socket with
// local end src and remote end dst (no NLM_F_DUMP: an exact lookup, which
// also finds dual-stack IPv6 sockets connected to an IPv4 address).
func inetDiagRequest(src, dst netip.AddrPort, seq uint32) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN+inetDiagReqV2Len)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(b[8:], seq)
	r := b[unix.NLMSG_HDRLEN:]
	r[0] = unix.AF_INET6
	if src.Addr().Is4() && dst.Addr().Is4() {
		r[0] = unix.AF_INET
	}
	r[1] = unix.IPPROTO_TCP
	ne.PutUint32(r[4:], 0xffffffff) // every state
	putSockID(r[8:], src, dst)
	return b
}

// putSockID writes a struct inet_diag_sockid (48 bytes): ports and
// addresses in network order, no interface, no cookie.
func putSockID(b []byte, src, dst netip.AddrPort) {
	binary.BigEndian.PutUint16(b[0:], src.Port())
	binary.BigEndian.PutUint16(b[2:], dst.Port())
	putAddr(b[4:20], src.Addr())
	putAddr(b[20:36], dst.Addr())
	binary.NativeEndian.PutUint32(b[40:], inetDiagNoCookie)
	binary.NativeEndian.PutUint32(b[44:], inetDiagNoCookie)
}

func putAddr(b []byte, a netip.Addr) {
	if a.Is4() {
		a4 := a.As4()
		copy(b, a4[:])
		return
	}
	a16 := a.As16()
	copy(b, a16[:])
}

// parseInetDiagAnswer reads the kernel's answer to inetDiagRequest.
func parseInetDiagAnswer(m syscall.NetlinkMessage, src, dst netip.AddrPort) (int, error) {
	switch m.Header.Type {
	case unix.NLMSG_ERROR:
		if len(m.Data) < 4 {
			return -1, errors.New("short netlink error")
		}
		if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
			return -1, syscall.Errno(errno)
		}
		return -1, errors.New("no socket in the answer")
	case unix.SOCK_DIAG_BY_FAMILY:
	default:
		return -1, fmt.Errorf("unexpected netlink message type %d", m.Header.Type)
	}
	d := m.Data
	if len(d) < inetDiagMsgLen {
		return -1, fmt.Errorf("short inet_diag answer (%d bytes)", len(d))
	}
	// The kernel found the socket by this 4-tuple; check it all the same.
	// A dual-stack socket answers in IPv6 form with mapped addresses.
	gotSrc := netip.AddrPortFrom(diagAddr(d[0], d[8:24]), binary.BigEndian.Uint16(d[4:]))
	gotDst := netip.AddrPortFrom(diagAddr(d[0], d[24:40]), binary.BigEndian.Uint16(d[6:]))
	if gotSrc != src || gotDst != dst {
		return -1, fmt.Errorf("the kernel answered for another socket (%s to %s)", gotSrc, gotDst)
	}
	// A closed socket waiting out TIME_WAIT, or one no process holds any
	// more (inode 0), has no owner the kernel can vouch for: it reports
	// uid 0 for a time-wait socket.
	if d[1] == tcpTimeWait || binary.NativeEndian.Uint32(d[inetDiagInodeOff:]) == 0 {
		return -1, errors.New("the peer socket is closed")
	}
	return int(binary.NativeEndian.Uint32(d[inetDiagUIDOff:])), nil
}

// diagAddr reads an address of an inet_diag_sockid, unmapped.
func diagAddr(family byte, b []byte) netip.Addr {
	if family == unix.AF_INET {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16([16]byte(b[:16])).Unmap()
}
