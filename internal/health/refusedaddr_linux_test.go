package health

import (
	"net"
	"testing"
)

// What refusedAddr gives cannot be taken by another listener; the port of
// a closed listener could. Linux only: Windows (and Wine) let a listener
// that asks for the port by number share it with a connected socket,
// although a listener on port 0 is never given it there either.
func TestRefusedAddrCannotBeTaken(t *testing.T) {
	t.Parallel()
	addr := refusedAddr(t)
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatalf("a listener took the refused address %s", addr)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("%s accepted a connection", addr)
	}
}
