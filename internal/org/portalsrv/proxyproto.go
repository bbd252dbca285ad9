package portalsrv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Behind a load balancer in TCP mode (TLS passes through to the portal,
// so devices keep pinning the portal's own CA) every connection comes from
// the balancer's address. Without the client's address, the per-source
// limits would count the whole city as one source: a few wrong activation
// codes would stop everyone's enrollment, and the connection cap would
// refuse the 1,025th laptop. The balancer therefore prefixes each
// connection with a PROXY protocol v2 header (HAProxy: send-proxy-v2),
// which the portal reads from trusted balancers only. A header from
// anyone else would let them choose their source, so it is never read
// from an untrusted peer, and a trusted peer must always send one.

// proxyV2Sig starts every PROXY protocol v2 header.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// proxyHeaderTimeout bounds how long a trusted balancer may take to send
// the header; it sends it with the connection, so this only ends broken
// ones.
const proxyHeaderTimeout = 5 * time.Second

var errProxyHeader = errors.New("bad PROXY protocol v2 header")

// readProxyV2 reads a PROXY protocol v2 header from r and returns the
// client's address, or ok=false for a LOCAL header (the balancer's own
// health check), which carries none.
func readProxyV2(r io.Reader) (src netip.AddrPort, ok bool, err error) {
	var h [16]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return src, false, fmt.Errorf("%w: %w", errProxyHeader, err)
	}
	if !bytes.Equal(h[:12], proxyV2Sig) || h[12]>>4 != 2 {
		return src, false, errProxyHeader
	}
	n := int(binary.BigEndian.Uint16(h[14:16]))
	// Addresses (at most 216 bytes for UNIX) plus TLVs; HAProxy sends far
	// less than this bound.
	if n > 1024 {
		return src, false, errProxyHeader
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return src, false, fmt.Errorf("%w: %w", errProxyHeader, err)
	}
	switch cmd := h[12] & 0x0f; cmd {
	case 0x0: // LOCAL
		return src, false, nil
	case 0x1: // PROXY
	default:
		return src, false, errProxyHeader
	}
	switch h[13] {
	case 0x11: // TCP over IPv4
		if n < 12 {
			return src, false, errProxyHeader
		}
		a := netip.AddrFrom4([4]byte(body[0:4]))
		return netip.AddrPortFrom(a, binary.BigEndian.Uint16(body[8:10])), true, nil
	case 0x21: // TCP over IPv6
		if n < 36 {
			return src, false, errProxyHeader
		}
		a := netip.AddrFrom16([16]byte(body[0:16])).Unmap()
		return netip.AddrPortFrom(a, binary.BigEndian.Uint16(body[32:34])), true, nil
	}
	// UNSPEC or a family we do not serve: no client address.
	return src, false, nil
}

// trusted says whether a connection from remote comes from a balancer
// whose PROXY header the portal reads.
func trustedProxy(trusted []netip.Prefix, remote net.Addr) bool {
	if len(trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remote.String())
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// proxiedConn is a connection from a trusted balancer. It reads the PROXY
// header on first use, in the connection's own goroutine (the accept loop
// must not wait for it), takes the client's source slot then and reports
// the client's address as RemoteAddr.
type proxiedConn struct {
	net.Conn
	srv   *Server
	limit int

	once    sync.Once
	err     error
	remote  net.Addr
	release func()
	relOnce sync.Once
}

func (c *proxiedConn) init() {
	c.once.Do(func() {
		c.Conn.SetReadDeadline(time.Now().Add(proxyHeaderTimeout))
		src, ok, err := readProxyV2(c.Conn)
		c.Conn.SetReadDeadline(time.Time{})
		if err != nil {
			c.err = err
			c.srv.log.Debug("dropping connection from balancer", "balancer", c.Conn.RemoteAddr().String(), "err", err)
			c.Conn.Close()
			return
		}
		c.remote = c.Conn.RemoteAddr()
		if ok {
			c.remote = net.TCPAddrFromAddrPort(src)
		}
		key := sourceOf(c.remote.String())
		if !c.srv.connSources.acquire(key, c.limit) {
			c.srv.refusedConns.Add(1)
			c.err = errors.New("too many connections from this source")
			c.Conn.Close()
			return
		}
		c.release = func() { c.srv.connSources.release(key) }
	})
}

func (c *proxiedConn) Read(b []byte) (int, error) {
	if c.init(); c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(b)
}

func (c *proxiedConn) Write(b []byte) (int, error) {
	if c.init(); c.err != nil {
		return 0, c.err
	}
	return c.Conn.Write(b)
}

// RemoteAddr is the client's address from the PROXY header, or the
// balancer's when the header names none.
func (c *proxiedConn) RemoteAddr() net.Addr {
	if c.init(); c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

func (c *proxiedConn) Close() error {
	// A connection closed before its first use never took a slot.
	c.once.Do(func() { c.err = net.ErrClosed })
	c.relOnce.Do(func() {
		if c.release != nil {
			c.release()
		}
	})
	return c.Conn.Close()
}
