package portalsrv

import (
	"net"
	"sync"
)

// sourceLimitedListener closes, right at accept and before any TLS work,
// a connection whose source already has the most connections allowed: one
// address cannot hold the portal's memory and file descriptors with slow
// or idle connections.
type sourceLimitedListener struct {
	net.Listener
	srv   *Server
	limit int
}

func (l *sourceLimitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if trustedProxy(l.srv.cfg.TrustedProxies, c.RemoteAddr()) {
			// The client's source is known only after the PROXY header.
			return &proxiedConn{Conn: c, srv: l.srv, limit: l.limit}, nil
		}
		src := sourceOf(c.RemoteAddr().String())
		if !l.srv.connSources.acquire(src, l.limit) {
			l.srv.refusedConns.Add(1)
			c.Close()
			continue
		}
		return &sourceConn{Conn: c, release: func() { l.srv.connSources.release(src) }}, nil
	}
}

// sourceConn gives its source's count back when closed.
type sourceConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *sourceConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
