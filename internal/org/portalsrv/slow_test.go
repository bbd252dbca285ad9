package portalsrv_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// dialFrom opens a TLS connection to the portal from the loopback address
// src ("" for the system's choice), so tests can play several clients.
func dialFrom(tb testing.TB, env *portaltest.Env, src string) *tls.Conn {
	tb.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(env.CAPEM))
	d := &net.Dialer{Timeout: 10 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	conn, err := tls.DialWithDialer(d, "tcp", strings.TrimPrefix(env.URL, "https://"), &tls.Config{RootCAs: pool})
	if err != nil {
		tb.Fatalf("dial from %q: %v", src, err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// readAnswer reads one HTTP answer from conn, waiting at most d.
func readAnswer(tb testing.TB, conn net.Conn, d time.Duration) (*http.Response, []byte) {
	tb.Helper()
	conn.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatalf("no answer within %v: %v", d, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("reading answer body: %v", err)
	}
	return resp, b
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// The campaign's critical finding: 128 connections that sent headers and
// part of a body held every in-flight slot until ReadTimeout, so the whole
// portal, health check included, answered 503. Bodies are now read before
// a request takes a slot.
func TestSlowBodiesDoNotStarveOthers(t *testing.T) {
	t.Parallel()
	// A long body timeout keeps the slow clients connected throughout the
	// probes, so the test sees them held, not already dropped.
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{BodyTimeout: time.Minute}})
	const slow = 160 // more than the 128 in-flight slots
	conns := make([]*tls.Conn, slow)
	for i := range conns {
		conns[i] = dialFrom(t, env, "")
		fmt.Fprintf(conns[i], "POST /api/v1/session HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\n"+
			"Authorization: Bearer dwd1_x\r\nContent-Length: 100\r\n\r\n{\"code\":")
	}

	r := newRaw(t, env)
	for i := range 20 {
		if a := r.do(t, "GET", "/api/v1/health", ""); a.status != http.StatusOK {
			t.Fatalf("probe %d: health = %d %s", i, a.status, a.body)
		}
		// A complete request that needs a slot and the store.
		a := r.do(t, "POST", "/api/v1/session", `{"code":"123456"}`, "Authorization", "Bearer dwd1_unknown")
		if a.status != http.StatusUnauthorized {
			t.Fatalf("probe %d: session = %d %s, want 401", i, a.status, a.body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The slow clients were held all along: none has had an answer yet.
	buf := make([]byte, 512)
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if n, err := c.Read(buf); !isTimeout(err) {
			t.Fatalf("slow client %d was answered before its body arrived: %q, %v", i, buf[:n], err)
		}
	}
}

// A body that does not arrive within BodyTimeout (default 5 s) is answered
// 408 and the connection closed; it used to wait for ReadTimeout (15 s)
// and then read as malformed JSON.
func TestSlowBodyIsDroppedAtBodyTimeout(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	conn := dialFrom(t, env, "")
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/v1/enrollments HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user\":")
	resp, body := readAnswer(t, conn, 12*time.Second)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), api.CodeBodyTimeout) {
		t.Fatalf("answer after %v = %d %s, want 408 %s", time.Since(start).Round(time.Millisecond), resp.StatusCode, body, api.CodeBodyTimeout)
	}
	if !resp.Close {
		t.Errorf("408 did not close the connection")
	}
}

// A Content-Length beyond the limit is refused before any of the body is
// read; it used to be read (and waited for) until ReadTimeout.
func TestOversizedContentLengthRefusedAtOnce(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	conn := dialFrom(t, env, "")
	fmt.Fprintf(conn, "POST /api/v1/enrollments HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"user\":\"a\"}", 1<<30)
	// Less than the 15 s read timeout the answer used to wait for.
	resp, body := readAnswer(t, conn, 10*time.Second)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), api.CodeBodyTooLarge) {
		t.Fatalf("answer = %d %s, want 413 %s", resp.StatusCode, body, api.CodeBodyTooLarge)
	}
}

// A body cut short (the client closes its side) gets a 400 that says so.
func TestTruncatedBodyNamed(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	conn := dialFrom(t, env, "")
	fmt.Fprintf(conn, "POST /api/v1/enrollments HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user\":\"a\"")
	if err := conn.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	resp, body := readAnswer(t, conn, 10*time.Second)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "ended after 11 of 100 bytes") {
		t.Fatalf("answer = %d %s, want 400 naming the truncation", resp.StatusCode, body)
	}
}

// One address may hold MaxConnsPerSource (default 1024) connections;
// more are closed at accept, while other addresses are served.
func TestConnectionsPerSourceCapped(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(env.CAPEM))
	addr := strings.TrimPrefix(env.URL, "https://")
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 10 * time.Second}
	// Plain TCP is enough to count: the cap applies before TLS.
	for i := range 1024 {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
	}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool})
	if err == nil {
		c.Close()
		t.Fatalf("connection 1025 from one address was admitted")
	}
	if a := newRaw(t, env).do(t, "GET", "/api/v1/health", ""); a.status != http.StatusOK {
		t.Fatalf("health from another address = %d %s", a.status, a.body)
	}
}
