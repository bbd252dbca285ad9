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
type Relay struct {
	// Addr is the relay's host:port on 127.0.0.1.
	Addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

// StartRelay relays to target (host:port) until the test ends.
func StartRelay(tb testing.TB, target string) *Relay {
	tb.Helper()
	r := &Relay{Addr: "127.0.0.1:0", target: target}
	r.Start(tb)
	r.Addr = r.ln.Addr().String()
	tb.Cleanup(r.Stop)
	return r
}

// Start listens again on Addr after Stop.
func (r *Relay) Start(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", r.Addr)
	if err != nil {
		tb.Fatalf("relay: %v", err)
	}
	r.mu.Lock()
	r.ln, r.conns = ln, map[net.Conn]struct{}{}
	r.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", r.target)
			if err != nil {
				in.Close()
				continue
			}
			if !r.track(in, out) {
				return
			}
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

func (r *Relay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		r.conns[c] = struct{}{}
	}
	return true
}

// Stop closes the listener and cuts the connections it carries: the
// portal is gone for the client. It is idempotent.
func (r *Relay) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		r.ln.Close()
	}
	for c := range r.conns {
		c.Close()
	}
	r.conns = nil
}
