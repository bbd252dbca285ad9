package tunnel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
)

// rw is a request buffer plus a record of what the server wrote.
type rw struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (r *rw) Read(p []byte) (int, error)  { return r.in.Read(p) }
func (r *rw) Write(p []byte) (int, error) { return r.out.Write(p) }

func TestReadSOCKSRequest(t *testing.T) {
	t.Parallel()
	greet := []byte{5, 1, 0}
	for _, tc := range []struct {
		name    string
		in      []byte
		want    string
		rep     int // -1: no reply error
		wantErr bool
	}{
		{"ipv4", append(greet, 5, 1, 0, 1, 10, 77, 0, 1, 0, 80), "10.77.0.1:80", -1, false},
		{"ipv6", append(greet, append([]byte{5, 1, 0, 4}, append(net.ParseIP("fd00::1").To16(), 1, 187)...)...), "[fd00::1]:443", -1, false},
		{"domain", append(greet, append([]byte{5, 1, 0, 3, 8}, append([]byte("intranet"), 0, 80)...)...), "intranet:80", -1, false},
		{"no_auth_among_others", append([]byte{5, 2, 2, 0}, 5, 1, 0, 1, 1, 2, 3, 4, 0, 22), "1.2.3.4:22", -1, false},
		{"socks4", []byte{4, 1, 0, 80, 1, 2, 3, 4, 0}, "", -1, true},
		{"only_password_auth", []byte{5, 1, 2}, "", -1, true},
		{"bind_command", append(greet, 5, 2, 0, 1, 1, 2, 3, 4, 0, 22), "", socksRepCmdUnsupported, true},
		{"udp_associate", append(greet, 5, 3, 0, 1, 1, 2, 3, 4, 0, 22), "", socksRepCmdUnsupported, true},
		{"bad_atyp", append(greet, 5, 1, 0, 9, 1, 2, 3, 4, 0, 22), "", socksRepAtypUnsupported, true},
		{"empty_domain", append(greet, 5, 1, 0, 3, 0, 0, 80), "", socksRepHostUnreachable, true},
		{"truncated", append(greet, 5, 1, 0, 1, 10, 77), "", -1, true},
		// The campaign's fuzz finding: a '[' made an address that does
		// not split. Names must be host names or address literals.
		{"bracket_in_domain", domainReq("in[tranet", 80), "", socksRepHostUnreachable, true},
		{"colon_in_domain", domainReq("intranet:8080", 80), "", socksRepHostUnreachable, true},
		{"space_in_domain", domainReq("intra net", 80), "", socksRepHostUnreachable, true},
		{"newline_in_domain", domainReq("intranet\nx", 80), "", socksRepHostUnreachable, true},
		{"nul_in_domain", domainReq("intranet\x00", 80), "", socksRepHostUnreachable, true},
		{"empty_label", domainReq("intranet..example", 80), "", socksRepHostUnreachable, true},
		{"leading_dot", domainReq(".intranet", 80), "", socksRepHostUnreachable, true},
		{"leading_hyphen", domainReq("-intranet", 80), "", socksRepHostUnreachable, true},
		{"trailing_hyphen", domainReq("intranet-.example", 80), "", socksRepHostUnreachable, true},
		{"label_64", domainReq(strings.Repeat("a", 64)+".example", 80), "", socksRepHostUnreachable, true},
		{"label_63", domainReq(strings.Repeat("a", 63)+".example", 80), strings.Repeat("a", 63) + ".example:80", -1, false},
		{"name_254", domainReq(longName(254), 80), "", socksRepHostUnreachable, true},
		{"name_253", domainReq(longName(253), 80), longName(253) + ":80", -1, false},
		{"name_253_and_root_dot", domainReq(longName(253)+".", 80), longName(253) + ".:80", -1, false},
		{"only_dot", domainReq(".", 80), "", socksRepHostUnreachable, true},
		{"trailing_dot", domainReq("intranet.example.", 80), "intranet.example.:80", -1, false},
		{"underscore", domainReq("fs_01.intranet", 445), "fs_01.intranet:445", -1, false},
		// curl --socks5-hostname sends address literals as names.
		{"ipv4_literal_as_domain", domainReq("10.77.0.1", 80), "10.77.0.1:80", -1, false},
		{"ipv6_literal_as_domain", domainReq("fd00::1", 443), "[fd00::1]:443", -1, false},
		{"bracketed_ipv6_as_domain", domainReq("[fd00::1]", 443), "", socksRepHostUnreachable, true},
		{"ipv6_zone_as_domain", domainReq("fe80::1%eth0", 80), "", socksRepHostUnreachable, true},
		{"port_zero", domainReq("intranet", 0), "", socksRepNotAllowed, true},
		{"ipv4_port_zero", append(greet, 5, 1, 0, 1, 10, 77, 0, 1, 0, 0), "", socksRepNotAllowed, true},
		{"no_methods", []byte{5, 0}, "", -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &rw{in: bytes.NewReader(tc.in)}
			got, err := readSOCKSRequest(c)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("readSOCKSRequest = %q, %v; want %q, err %v", got, err, tc.want, tc.wantErr)
			}
			var re *socksReplyError
			if errors.As(err, &re) != (tc.rep >= 0) || (tc.rep >= 0 && int(re.rep) != tc.rep) {
				t.Errorf("reply error = %v, want rep %d", err, tc.rep)
			}
		})
	}
}

// domainReq is a greeting and a CONNECT to name:port.
func domainReq(name string, port uint16) []byte {
	b := append([]byte{5, 1, 0, 5, 1, 0, 3, byte(len(name))}, name...)
	return append(b, byte(port>>8), byte(port))
}

// longName is a valid host name of n bytes (labels of 63).
func longName(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.Repeat("a", min(63, n-b.Len())))
	}
	return b.String()
}

func TestSOCKSServerEndToEnd(t *testing.T) {
	t.Parallel()
	// Upstream is an echo server on loopback; the dial function stands in
	// for the tunnel and refuses all but one name.
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != "echo.office:7" {
			return nil, ErrNotInTunnel
		}
		var d net.Dialer
		return d.DialContext(ctx, network, echo.Addr().String())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	s := newSOCKSServer(ln, dial, os.Getuid(), slog.Default())
	go s.serve()
	defer s.close()

	connect := func(t *testing.T, host string) (net.Conn, byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		req := append([]byte{5, 1, 0, 5, 1, 0, 3, byte(len(host))}, host...)
		c.Write(append(req, 0, 7))
		var resp [2 + 10]byte
		if _, err := io.ReadFull(c, resp[:]); err != nil {
			t.Fatalf("reading reply: %v", err)
		}
		return c, resp[3]
	}
	t.Run("connect_and_echo", func(t *testing.T) {
		c, rep := connect(t, "echo.office")
		defer c.Close()
		if rep != socksRepSuccess {
			t.Fatalf("reply %d, want success", rep)
		}
		c.Write([]byte("hallo"))
		c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		if string(b) != "hallo" {
			t.Errorf("echo = %q", b)
		}
	})
	t.Run("refused_destination", func(t *testing.T) {
		c, rep := connect(t, "elsewhere.example")
		defer c.Close()
		if rep != socksRepNotAllowed {
			t.Errorf("reply %d, want %d (not allowed)", rep, socksRepNotAllowed)
		}
	})
}

func FuzzReadSOCKSRequest(f *testing.F) {
	f.Add([]byte{5, 1, 0, 5, 1, 0, 1, 10, 77, 0, 1, 0, 80})
	f.Add([]byte{5, 1, 0, 5, 1, 0, 3, 3, 'a', '.', 'b', 0, 80})
	f.Add([]byte{5, 0})
	f.Add(domainReq("in[tranet", 80))
	f.Add(domainReq("fd00::1", 443))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &rw{in: bytes.NewReader(in)}
		dest, err := readSOCKSRequest(c)
		if err != nil {
			return
		}
		checkDestination(t, dest)
	})
}

// checkDestination asserts what DialContext relies on: dest splits into
// a host and a port 1–65535 and joins back to itself, and the host is an
// address without a zone or a plain DNS name. The name rules are spelt
// out here again, independently of IsHostName.
func checkDestination(t *testing.T, dest string) {
	t.Helper()
	host, port, err := net.SplitHostPort(dest)
	if err != nil {
		t.Fatalf("destination %q does not split: %v", dest, err)
	}
	if net.JoinHostPort(host, port) != dest {
		t.Fatalf("destination %q does not join back", dest)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		t.Fatalf("destination %q: port %q", dest, port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			t.Fatalf("destination %q has a zone", dest)
		}
		return
	}
	name := strings.TrimSuffix(host, ".")
	if name == "" || len(name) > 253 {
		t.Fatalf("destination %q: name of %d bytes", dest, len(name))
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			t.Fatalf("destination %q: label %q", dest, l)
		}
		if i := strings.IndexFunc(l, func(r rune) bool {
			return !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", r)
		}); i >= 0 {
			t.Fatalf("destination %q: byte %q in a name", dest, l[i])
		}
	}
}

// A connection of another user is closed before the proxy reads a byte
// of it or dials anything.
func TestSOCKSServerRefusesOtherUser(t *testing.T) {
	t.Parallel()
	dialed := make(chan string, 1)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed <- addr
		return nil, ErrNotInTunnel
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	s := newSOCKSServer(ln, dial, os.Getuid()+1, slog.New(slog.DiscardHandler))
	go s.serve()
	defer s.close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	c.Write([]byte{5, 1, 0, 5, 1, 0, 3, 8, 'i', 'n', 't', 'r', 'a', 'n', 'e', 't', 0, 80})
	if b, err := io.ReadAll(c); len(b) != 0 {
		t.Errorf("the proxy answered another user: %v, %v", b, err)
	}
	s.close()
	select {
	case addr := <-dialed:
		t.Errorf("the proxy dialed %s for another user", addr)
	default:
	}
}
