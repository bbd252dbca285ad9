package tunnel

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// accept1 listens on addr and returns both ends of one connection made
// by dial (a plain dial when nil).
func accept1(t *testing.T, network, addr string, dial func(string) net.Conn) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("Listen %s: %v", addr, err)
	}
	defer ln.Close()
	if dial == nil {
		dial = func(a string) net.Conn {
			c, err := net.Dial(network, a)
			if err != nil {
				t.Fatalf("Dial %s: %v", a, err)
			}
			return c
		}
	}
	client = dial(ln.Addr().String())
	server, err = ln.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// dialMapped connects from an IPv6 socket to an IPv4 listener through its
// v4-mapped address, as dual-stack programs (Java, some browsers) do.
func dialMapped(t *testing.T) func(string) net.Conn {
	return func(addr string) net.Conn {
		t.Helper()
		_, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("Socket: %v", err)
		}
		sa := &unix.SockaddrInet6{Port: p, Addr: [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}}
		if err := unix.Connect(fd, sa); err != nil {
			unix.Close(fd)
			t.Fatalf("Connect: %v", err)
		}
		f := os.NewFile(uintptr(fd), "mapped")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatalf("FileConn: %v", err)
		}
		return c
	}
}

func TestTCPPeerUID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, network, addr string
		dial                func(*testing.T) func(string) net.Conn
	}{
		{"ipv4", "tcp4", "127.0.0.1:0", nil},
		{"ipv6", "tcp6", "[::1]:0", nil},
		{"dual_stack_client", "tcp4", "127.0.0.1:0", dialMapped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var dial func(string) net.Conn
			if tc.dial != nil {
				dial = tc.dial(t)
			}
			server, _ := accept1(t, tc.network, tc.addr, dial)
			uid, err := tcpPeerUID(server)
			if err != nil || uid != os.Getuid() {
				t.Fatalf("tcpPeerUID = %d, %v; want %d", uid, err, os.Getuid())
			}
		})
	}
	t.Run("closed_peer_has_no_owner", func(t *testing.T) {
		t.Parallel()
		server, client := accept1(t, "tcp4", "127.0.0.1:0", nil)
		client.Close()
		if uid, err := tcpPeerUID(server); err == nil {
			t.Fatalf("tcpPeerUID of a closed peer = %d, want an error", uid)
		}
	})
	t.Run("not_tcp", func(t *testing.T) {
		t.Parallel()
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		if _, err := tcpPeerUID(a); err == nil {
			t.Fatal("tcpPeerUID of a pipe succeeded")
		}
	})
}

// socksChildEnv starts TestSOCKSProxyChild as a proxy of its own; see
// TestSOCKSProxyOfUnprivilegedUser.
const socksChildEnv = "DIENSTWEG_TEST_SOCKS_CHILD"

// TestSOCKSProxyChild is a proxy run by whatever user starts it, as the
// agent runs as the employee: it prints its address, sends every
// connection to a local page naming its uid, and ends when stdin closes.
func TestSOCKSProxyChild(t *testing.T) {
	if os.Getenv(socksChildEnv) == "" {
		t.Skip("runs only as the proxy process of TestSOCKSProxyOfUnprivilegedUser")
	}
	page, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	go http.Serve(page, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "proxy of uid %d", os.Getuid())
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, page.Addr().String())
	}
	s := newSOCKSServer(ln, dial, os.Getuid(), slog.New(slog.NewTextHandler(os.Stderr, nil)))
	go s.serve()
	fmt.Println(ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	s.close()
}
