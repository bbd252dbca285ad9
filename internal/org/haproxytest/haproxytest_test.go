package haproxytest_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/csv"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/haproxytest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
)

// slowListener takes handshakeDelay before it hands over each connection,
// so the TLS handshake of every check takes at least that long: a portal
// slowed by a loaded machine. It drops the PROXY v2 header the checks
// send first.
type slowListener struct{ net.Listener }

const handshakeDelay = 600 * time.Millisecond

var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	time.Sleep(handshakeDelay)
	br := bufio.NewReader(c)
	if sig, err := br.Peek(16); err == nil && bytes.Equal(sig[:12], proxyV2Sig) {
		br.Discard(16 + int(binary.BigEndian.Uint16(sig[14:16])))
	}
	return bufferedConn{c, br}, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// A backend whose TLS handshake takes longer than CheckInterval passes its
// checks. While CheckInterval was HAProxy's inter, it also bounded the
// checks' handshake (min(timeout connect, inter)): at 300 ms this backend's
// first check timed out (L6TOUT) and marked it down, as a portal slowed by
// load was in the cluster test, which cut its requests.
func TestSlowHandshakeIsNotDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mat, err := portalsrv.LoadOrCreateTLS(dir, []string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatalf("LoadOrCreateTLS: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	t.Cleanup(func() { srv.Close() })
	go srv.Serve(tls.NewListener(slowListener{ln}, mat.Config()))

	h := haproxytest.Start(t, haproxytest.Options{
		Backends:      []string{ln.Addr().String()},
		CAFile:        filepath.Join(dir, "ca.pem"),
		CheckInterval: 300 * time.Millisecond,
	})
	// The server counts as up until its first check ends; read that
	// check's result.
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, check := firstServer(t, h)
		if check != "" && !strings.Contains(check, "INI") {
			if check != "L7OK" || !strings.HasPrefix(status, "UP") {
				t.Fatalf("the first check of a backend with a %v handshake: %s, server %s; want L7OK and up\n%s", handshakeDelay, check, status, h.Log())
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no check ended within 20 s (%s)\n%s", check, h.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// firstServer reads the status and last check result of the backend's
// first server from HAProxy's statistics.
func firstServer(tb testing.TB, h *haproxytest.HAProxy) (status, check string) {
	tb.Helper()
	out, err := h.Command("show stat")
	if err != nil {
		tb.Fatalf("show stat: %v", err)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		tb.Fatalf("show stat: %v\n%s", err, out)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, row := range rows[1:] {
		if len(row) > col["check_status"] && row[col["svname"]] == "portal0" {
			return row[col["status"]], row[col["check_status"]]
		}
	}
	tb.Fatalf("no portal0 in show stat:\n%s", out)
	return "", ""
}
