package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
)

// The intranet server had no idle, read or write timeout: a client that
// made one request and then said nothing, or sent a body slowly, held its
// connection and goroutine for good.
func TestIntranetClosesIdleConnections(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{Gateway: func(c *gateway.Config) {
		c.HTTPIdleTimeout = time.Second // NEWAPI
	}})
	d := o.Enroll(t, "anna")
	o.WaitAdmitted(t, d, true)
	e := up(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := e.DialContext(ctx, "tcp", net.JoinHostPort(gatewaytest.GatewayAddr.String(), "80"))
	if err != nil {
		t.Fatalf("dial intranet: %v", err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", gateway.DemoIntranetName)
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("answer = %d, close %v; want a kept-alive 200", resp.StatusCode, resp.Close)
	}
	// Now idle: the gateway must close the connection, far sooner than
	// this bound.
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle connection: read %d, %v; want EOF from the gateway closing it", n, err)
	}
}
