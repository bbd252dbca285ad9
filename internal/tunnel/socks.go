package tunnel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// A minimal SOCKS5 server (RFC 1928): CONNECT only, with IPv4, IPv6 and
// domain-name destinations. Names are resolved by the office DNS through
// the tunnel (socks5h semantics), so a browser set to this proxy reaches
// the intranet by its internal names.
//
// It admits only the programs of the user the agent runs as, and asks the
// kernel who connects (tcpPeerUID) rather than the client: browsers offer
// no SOCKS5 password, and a password would only move the question to who
// can read it. Where the kernel cannot answer, the proxy does not run.

const (
	socksVersion = 5

	socksCmdConnect = 1

	socksAtypIPv4   = 1
	socksAtypDomain = 3
	socksAtypIPv6   = 4

	socksRepSuccess         = 0
	socksRepFailure         = 1
	socksRepNotAllowed      = 2
	socksRepNetUnreachable  = 3
	socksRepHostUnreachable = 4
	socksRepRefused         = 5
	socksRepTTLExpired      = 6
	socksRepCmdUnsupported  = 7
	socksRepAtypUnsupported = 8

	socksHandshakeTimeout = 10 * time.Second
	socksDialTimeout      = 30 * time.Second
)

type dialFunc func(ctx context.Context, network, address string) (net.Conn, error)

type socksServer struct {
	ln    net.Listener
	dial  dialFunc
	owner int // the only uid admitted
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	warned map[int]bool // uids whose refusal was logged at warn level
}

func newSOCKSServer(ln net.Listener, dial dialFunc, owner int, log *slog.Logger) *socksServer {
	ctx, cancel := context.WithCancel(context.Background())
	return &socksServer{ln: ln, dial: dial, owner: owner, log: log, ctx: ctx, cancel: cancel,
		conns: map[net.Conn]struct{}{}, warned: map[int]bool{}}
}

func (s *socksServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Warn("socks proxy accept", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if !s.track(c, true) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.track(c, false)
			defer c.Close()
			if err := s.handle(c); err != nil {
				s.log.Debug("socks connection", "err", err)
			}
		}()
	}
}

func (s *socksServer) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.ctx.Err() != nil {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

// close stops accepting, ends open connections and waits for them.
func (s *socksServer) close() {
	s.cancel()
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// admit lets in only the owner's programs: the proxy carries them into
// the office network, where other users of this computer (a shared or
// terminal server, a service account) have no business. It runs before a
// byte from the peer is read.
func (s *socksServer) admit(c net.Conn) error {
	uid, err := tcpPeerUID(c)
	if err == nil && uid == s.owner {
		return nil
	}
	// Warn once per uid: a local program retrying must not flood the log.
	s.mu.Lock()
	first := !s.warned[uid]
	s.warned[uid] = true
	s.mu.Unlock()
	level := slog.LevelDebug
	if first {
		level = slog.LevelWarn
	}
	if err != nil {
		s.log.Log(context.Background(), level, "socks proxy refused a connection: its owner is unknown", "peer", c.RemoteAddr(), "err", err)
		return fmt.Errorf("refused %s: %w", c.RemoteAddr(), err)
	}
	s.log.Log(context.Background(), level, "socks proxy refused another user", "uid", uid, "peer", c.RemoteAddr())
	return fmt.Errorf("refused %s: uid %d is not the session's user", c.RemoteAddr(), uid)
}

func (s *socksServer) handle(c net.Conn) error {
	if err := s.admit(c); err != nil {
		return err
	}
	c.SetDeadline(time.Now().Add(socksHandshakeTimeout))
	dest, err := readSOCKSRequest(c)
	if err != nil {
		var re *socksReplyError
		if errors.As(err, &re) {
			writeSOCKSReply(c, re.rep, netip.AddrPort{})
		}
		return err
	}
	ctx, cancel := context.WithTimeout(s.ctx, socksDialTimeout)
	up, err := s.dial(ctx, "tcp", dest)
	cancel()
	if err != nil {
		writeSOCKSReply(c, dialReply(err), netip.AddrPort{})
		return fmt.Errorf("socks connect %s: %w", dest, err)
	}
	defer up.Close()
	s.mu.Lock()
	s.conns[up] = struct{}{}
	s.mu.Unlock()
	defer s.track(up, false)
	bound, _ := netip.ParseAddrPort(up.LocalAddr().String())
	if err := writeSOCKSReply(c, socksRepSuccess, bound); err != nil {
		return err
	}
	c.SetDeadline(time.Time{})
	pipe(c, up)
	return nil
}

// pipe copies both ways until both directions are done, passing on
// half-closes so request/response protocols end cleanly.
func pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}

type socksReplyError struct {
	rep byte
	err error
}

func (e *socksReplyError) Error() string { return e.err.Error() }

// readSOCKSRequest runs the method negotiation and reads a CONNECT
// request, returning the destination as host:port.
func readSOCKSRequest(rw io.ReadWriter) (string, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(rw, hdr[:]); err != nil {
		return "", fmt.Errorf("reading greeting: %w", err)
	}
	if hdr[0] != socksVersion {
		return "", fmt.Errorf("not SOCKS5 (version %d)", hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(rw, methods); err != nil {
		return "", fmt.Errorf("reading methods: %w", err)
	}
	noAuth := false
	for _, m := range methods {
		noAuth = noAuth || m == 0
	}
	if !noAuth {
		rw.Write([]byte{socksVersion, 0xff})
		return "", errors.New("client offers no acceptable auth method")
	}
	if _, err := rw.Write([]byte{socksVersion, 0}); err != nil {
		return "", err
	}
	var req [4]byte
	if _, err := io.ReadFull(rw, req[:]); err != nil {
		return "", fmt.Errorf("reading request: %w", err)
	}
	if req[0] != socksVersion {
		return "", fmt.Errorf("request version %d", req[0])
	}
	var host string
	switch req[3] {
	case socksAtypIPv4:
		var a [4]byte
		if _, err := io.ReadFull(rw, a[:]); err != nil {
			return "", err
		}
		host = netip.AddrFrom4(a).String()
	case socksAtypIPv6:
		var a [16]byte
		if _, err := io.ReadFull(rw, a[:]); err != nil {
			return "", err
		}
		host = netip.AddrFrom16(a).String()
	case socksAtypDomain:
		var n [1]byte
		if _, err := io.ReadFull(rw, n[:]); err != nil {
			return "", err
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(rw, name); err != nil {
			return "", err
		}
		h, err := socksHost(string(name))
		if err != nil {
			return "", &socksReplyError{socksRepHostUnreachable, err}
		}
		host = h
	default:
		return "", &socksReplyError{socksRepAtypUnsupported, fmt.Errorf("address type %d", req[3])}
	}
	var port [2]byte
	if _, err := io.ReadFull(rw, port[:]); err != nil {
		return "", err
	}
	if req[1] != socksCmdConnect {
		return "", &socksReplyError{socksRepCmdUnsupported, fmt.Errorf("command %d not supported", req[1])}
	}
	p := binary.BigEndian.Uint16(port[:])
	if p == 0 {
		return "", &socksReplyError{socksRepNotAllowed, errors.New("port 0")}
	}
	return net.JoinHostPort(host, strconv.Itoa(int(p))), nil
}

// socksHost checks a destination sent as a name: a host name, or an
// address literal as curl --socks5-hostname sends them. Anything else
// (brackets, colons, spaces, control bytes) would make an address that
// does not split again, or a lookup of garbage.
func socksHost(name string) (string, error) {
	if a, err := netip.ParseAddr(name); err == nil {
		if a.Zone() != "" {
			return "", fmt.Errorf("destination %q: an address with a zone does not go through the tunnel", name)
		}
		return a.String(), nil
	}
	if !IsHostName(name) {
		return "", fmt.Errorf("destination %q is not a host name", name)
	}
	return name, nil
}

func writeSOCKSReply(w io.Writer, rep byte, bound netip.AddrPort) error {
	b := []byte{socksVersion, rep, 0}
	a := bound.Addr().Unmap()
	switch {
	case a.Is6():
		b = append(b, socksAtypIPv6)
		b = append(b, a.AsSlice()...)
	case a.Is4():
		b = append(b, socksAtypIPv4)
		b = append(b, a.AsSlice()...)
	default:
		b = append(b, socksAtypIPv4, 0, 0, 0, 0)
	}
	b = binary.BigEndian.AppendUint16(b, bound.Port())
	_, err := w.Write(b)
	return err
}

// dialReply maps a dial error to the closest SOCKS reply, so the
// program behind the proxy shows a meaningful error.
func dialReply(err error) byte {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, ErrNotInTunnel):
		return socksRepNotAllowed
	case errors.Is(err, ErrDown):
		return socksRepNetUnreachable
	case errors.As(err, &dnsErr):
		return socksRepHostUnreachable
	case errors.Is(err, syscall.ECONNREFUSED):
		return socksRepRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return socksRepTTLExpired
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return socksRepTTLExpired
	}
	return socksRepFailure
}
