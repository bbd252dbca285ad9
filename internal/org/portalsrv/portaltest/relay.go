package portaltest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Relay forwards TCP connections from a fixed loopback address to a
// portal, so a test can take the portal away from a client (Stop) and
// bring it back on the same address (Start) while the portal itself, and
// a gateway that asks it, go on running. The portal's certificate names
// 127.0.0.1, so a client reaches it as https://<Addr>.
//
// The relay listens on Addr until the test ends, also while stopped: a
// port given back at Stop could be taken by a parallel test's listener
// before Start, which then failed, or answered in the portal's place.
type Relay struct {
	// Addr is the relay's host:port on 127.0.0.1.
	Addr   string
	target string
	ln     net.Listener

	mu sync.Mutex
	// conns are the connections carried since the last Start; nil while
	// stopped.
	conns map[net.Conn]struct{}
}

// StartRelay relays to target (host:port) until the test ends.
func StartRelay(tb testing.TB, target string) *Relay {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("relay: %v", err)
	}
	r := &Relay{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	tb.Cleanup(func() {
		ln.Close()
		r.Stop()
	})
	go r.serve()
	return r
}

func (r *Relay) serve() {
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return // closed at the test's end
		}
		if !r.running() {
			reset(in)
			continue
		}
		out, err := net.Dial("tcp", r.target)
		if err != nil {
			reset(in)
			continue
		}
		if !r.track(in, out) {
			continue
		}
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// reset closes c with a TCP reset, so the client fails at once, as it
// would at a refused connection, and reads no portal answer.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

func (r *Relay) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns != nil
}

// track records the connections of one relayed client, or resets them if
// the relay was stopped since it accepted the client.
func (r *Relay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		for _, c := range cs {
			reset(c)
		}
		return false
	}
	for _, c := range cs {
		r.conns[c] = struct{}{}
	}
	return true
}

// Start relays again after Stop, on the same address.
func (r *Relay) Start(tb testing.TB) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		r.conns = map[net.Conn]struct{}{}
	}
}

// Stop cuts the connections the relay carries and resets every new one
// until Start: the portal is gone for the client. It is idempotent.
func (r *Relay) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.Close()
	}
	r.conns = nil
}
