package tunnel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
)

// SystemOptions configure the system engine.
type SystemOptions struct {
	// Socket is the helper's unix socket (Windows: named pipe); "" means
	// helperapi.DefaultSocket (helperapi.DefaultPipe).
	Socket string
	// Dial opens a connection to the helper; nil means Socket, dialled
	// as helperDialer does on this system.
	Dial func(ctx context.Context) (net.Conn, error)
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// System is the engine of system mode: the privileged helper runs the
// tunnel on a TUN device with routes and the office DNS, so every program
// on the machine reaches the office. This engine only asks the helper
// (over its local socket) and dials with the normal OS stack.
type System struct {
	opts SystemOptions
	log  *slog.Logger
	hc   *http.Client

	mu  sync.RWMutex
	cfg Config
	up  bool
}

var _ Engine = (*System)(nil)

// HelperError is a refusal or failure reported by the helper.
type HelperError struct {
	Status  int
	Message string
}

func (e *HelperError) Error() string {
	return fmt.Sprintf("tunnel helper: %s (http %d)", e.Message, e.Status)
}

// NewSystem returns an engine that is down. It does not contact the
// helper yet.
func NewSystem(opts SystemOptions) *System {
	if opts.Socket == "" {
		opts.Socket = defaultHelperSocket
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dial := opts.Dial
	if dial == nil {
		dial = helperDialer(opts.Socket)
	}
	s := &System{opts: opts, log: opts.Logger.With("component", "tunnel", "mode", "system")}
	s.hc = &http.Client{Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		DisableKeepAlives: true,
	}}
	return s
}

// call sends one request to the helper and decodes its Status answer.
func (s *System) call(ctx context.Context, method, path string, body any) (helperapi.Status, error) {
	var st helperapi.Status
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return st, err
		}
		rd = bytes.NewReader(b)
	}
	// The host is a placeholder: the transport always dials the helper.
	req, err := http.NewRequestWithContext(ctx, method, "http://dienstweg-helper"+path, rd)
	if err != nil {
		return st, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return st, fmt.Errorf("reaching the tunnel helper at %s: %w", s.opts.Socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return st, fmt.Errorf("reading the tunnel helper's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e helperapi.Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		return st, &HelperError{Status: resp.StatusCode, Message: e.Error}
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("decoding the tunnel helper's answer: %w", err)
	}
	return st, nil
}

// Up asks the helper to bring the tunnel up with cfg, or to replace the
// running one. The gateway's name is resolved here, with the agent's
// view of the network.
func (s *System) Up(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("tunnel config: %w", err)
	}
	ep, err := resolveEndpoint(ctx, cfg.GatewayEndpoint)
	if err != nil {
		return err
	}
	req := helperapi.UpRequest{Config: helperapi.Config{
		PrivateKey:       cfg.PrivateKey,
		Address:          cfg.Address,
		DNS:              cfg.DNS,
		SearchDomains:    cfg.SearchDomains,
		GatewayEndpoint:  ep.String(),
		GatewayPublicKey: cfg.GatewayPublicKey,
		AllowedIPs:       cfg.AllowedIPs,
		KeepaliveSeconds: cfg.KeepaliveSeconds,
		MTU:              cfg.MTU,
	}}
	st, err := s.call(ctx, http.MethodPost, helperapi.PathUp, req)
	if err != nil {
		return fmt.Errorf("tunnel up: %w", err)
	}
	s.mu.Lock()
	s.cfg, s.up = cfg, true
	s.mu.Unlock()
	s.log.Info("tunnel up", "interface", st.Interface, "address", cfg.Address, "gateway", ep, "dns", st.DNS)
	return nil
}

// Down asks the helper to end the tunnel. The engine counts as down even
// if the helper cannot be reached: it removes everything itself when it
// stops or restarts.
func (s *System) Down() error {
	s.mu.Lock()
	was := s.up
	s.cfg, s.up = Config{}, false
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.call(ctx, http.MethodPost, helperapi.PathDown, nil); err != nil {
		if !was {
			return nil
		}
		return fmt.Errorf("tunnel down: %w", err)
	}
	if was {
		s.log.Info("tunnel down")
	}
	return nil
}

// HelperStatus is the helper's full view of the session.
func (s *System) HelperStatus(ctx context.Context) (helperapi.Status, error) {
	return s.call(ctx, http.MethodGet, helperapi.PathStatus, nil)
}

// Stats implements Engine with the helper's numbers. It is ErrDown when
// the helper has no session, e.g. after the helper restarted.
func (s *System) Stats() (Stats, error) {
	s.mu.RLock()
	up := s.up
	s.mu.RUnlock()
	if !up {
		return Stats{}, ErrDown
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.HelperStatus(ctx)
	if err != nil {
		return Stats{}, err
	}
	if !st.Up {
		return Stats{}, ErrDown
	}
	return Stats{LastHandshake: st.LastHandshake, RxBytes: st.RxBytes, TxBytes: st.TxBytes, Endpoint: st.Endpoint}, nil
}

func (s *System) current() (Config, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.up {
		return Config{}, ErrDown
	}
	return s.cfg, nil
}

// LookupHost implements Engine: it asks the office DNS servers directly
// (their packets take the tunnel's routes), not the system resolver, so
// the answer is the office's even where the OS would ask someone else.
func (s *System) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	cfg, err := s.current()
	if err != nil {
		return nil, err
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if len(cfg.DNS) == 0 {
		return nil, fmt.Errorf("resolving %s: the tunnel has no office DNS", host)
	}
	servers := slices.Clone(cfg.DNS)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		var lastErr error
		for _, srv := range servers {
			c, err := d.DialContext(ctx, network, netip.AddrPortFrom(srv, 53).String())
			if err == nil {
				return c, nil
			}
			lastErr = err
		}
		return nil, lastErr
	}}
	out, err := lookupSearch(ctx, host, cfg.SearchDomains, func(ctx context.Context, name string) ([]netip.Addr, error) {
		// The trailing dot keeps the OS search list out of it.
		return r.LookupNetIP(ctx, "ip", name+".")
	})
	if err != nil {
		return nil, fmt.Errorf("resolving %s with the office DNS: %w", host, err)
	}
	return out, nil
}

// DialContext implements Engine: office destinations only, dialed with
// the OS stack, so the TUN routes carry them.
func (s *System) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	cfg, err := s.current()
	if err != nil {
		return nil, err
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return nil, fmt.Errorf("dialing through the tunnel: network %q not supported", network)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", address, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: bad port", address)
	}
	addrs, err := s.LookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var lastErr error = ErrNotInTunnel
	for _, a := range addrs {
		if !cfg.Contains(a) {
			continue
		}
		if (network == "tcp4" || network == "udp4") && !a.Is4() || (network == "tcp6" || network == "udp6") && !a.Is6() {
			continue
		}
		c, err := d.DialContext(ctx, network, netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("dialing %s through the tunnel: %w", address, lastErr)
}
