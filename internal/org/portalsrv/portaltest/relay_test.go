package portaltest

import (
	"io"
	"net"
	"testing"
	"time"
)

// A stopped relay keeps its port: no other listener can take it, so Start
// always gets it back, and a client gets no answer until then. Before,
// Stop closed the listener and a parallel test's listener could take the
// port (then Start failed, or the other listener answered).
func TestRelayHoldsItsPortWhileStopped(t *testing.T) {
	t.Parallel()
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { target.Close() })
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("portal"))
			c.Close()
		}
	}()
	r := StartRelay(t, target.Addr().String())

	if got, err := ask(r.Addr); err != nil || got != "portal" {
		t.Fatalf("started relay answered %q, %v; want portal", got, err)
	}
	r.Stop()
	if ln, err := net.Listen("tcp", r.Addr); err == nil {
		ln.Close()
		t.Fatalf("a listener took the stopped relay's address %s", r.Addr)
	}
	if got, err := ask(r.Addr); err == nil {
		t.Fatalf("stopped relay answered %q", got)
	}
	r.Start(t)
	if got, err := ask(r.Addr); err != nil || got != "portal" {
		t.Fatalf("restarted relay answered %q, %v; want portal", got, err)
	}
}

// ask reads what addr says before it closes the connection; an error if
// it refuses or resets the connection.
func ask(addr string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second)) // a bound on a hang, not on speed
	b, err := io.ReadAll(c)
	return string(b), err
}
