package tunnel

import (
	"context"
	"errors"
	"fmt"
	"gvisor.dev/gvisor/pkg/tcpip"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun/netstack"

	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// UserspaceOptions configure the userspace engine.
type UserspaceOptions struct {
	// SOCKSAddr is where the SOCKS5 proxy listens while the tunnel is up,
	// e.g. "127.0.0.1:1080"; "127.0.0.1:0" picks a port; "" means no
	// proxy. It must be a loopback address. Only the user this process
	// runs as may use it, which only Linux can tell: elsewhere it does
	// not run.
	SOCKSAddr string
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// Userspace is the engine that needs no privileges: WireGuard and a TCP/IP
// stack (gVisor netstack) inside this process. Only this process's own
// connections and the SOCKS5 proxy's use the tunnel.
type Userspace struct {
	opts UserspaceOptions
	log  *slog.Logger

	mu    sync.RWMutex
	cfg   Config
	dev   *device.Device
	tnet  *netstack.Net
	ep    netip.AddrPort
	socks *socksServer
}

var _ Engine = (*Userspace)(nil)

// NewUserspace returns an engine that is down.
func NewUserspace(opts UserspaceOptions) *Userspace {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Userspace{opts: opts, log: opts.Logger.With("component", "tunnel")}
}

// Up brings the tunnel up with cfg, or replaces a running one. It does
// not wait for the handshake: the first packet starts it, and Stats shows
// when it completed.
func (u *Userspace) Up(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("tunnel config: %w", err)
	}
	ep, err := resolveEndpoint(ctx, cfg.GatewayEndpoint)
	if err != nil {
		return err
	}
	uapi, err := uapiConfig(cfg, ep)
	if err != nil {
		return err
	}
	if moved, err := u.moveGateway(cfg, ep, uapi); moved || err != nil {
		return err
	}
	tdev, tnet, err := netstack.CreateNetTUN([]netip.Addr{cfg.Address.Addr()}, cfg.DNS, cfg.MTU)
	if err != nil {
		return fmt.Errorf("creating netstack: %w", err)
	}
	dev := device.NewDevice(tdev, conn.NewDefaultBind(), wgLogger(u.log))
	if err := dev.IpcSet(uapi); err != nil {
		dev.Close()
		return fmt.Errorf("configuring tunnel: %w", err)
	}
	if err := dev.Up(); err != nil {
		dev.Close()
		return fmt.Errorf("tunnel up: %w", err)
	}

	u.mu.Lock()
	old := u.dev
	u.cfg, u.dev, u.tnet, u.ep = cfg, dev, tnet, ep
	startSocks := u.socks == nil && u.opts.SOCKSAddr != ""
	u.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if startSocks {
		if err := u.startSOCKS(); err != nil {
			u.Down()
			return err
		}
	}
	u.log.Info("tunnel up", "address", cfg.Address, "gateway", ep, "socks", u.SOCKSAddr())
	return nil
}

// moveGateway points the running device at cfg's gateway when nothing
// else changed (a failover to another gateway of the organisation): the
// netstack, the SOCKS proxy and connections to office hosts behind both
// gateways stay. It reports whether it did.
func (u *Userspace) moveGateway(cfg Config, ep netip.AddrPort, uapi string) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dev == nil || u.cfg.Gateway() == cfg.Gateway() || !sameDevice(u.cfg, cfg) {
		return false, nil
	}
	// replace_peers drops the old gateway's peer and its keys.
	if err := u.dev.IpcSet(uapi); err != nil {
		return true, fmt.Errorf("moving the tunnel to gateway %s: %w", ep, err)
	}
	u.cfg, u.ep = cfg, ep
	// With a keepalive, wireguard-go's first keepalive to the new peer
	// starts the handshake; without one, start it here. Never both: a
	// second initiation at once would be dropped as a flood.
	if cfg.KeepaliveSeconds == 0 {
		if err := u.handshakeLocked(); err != nil {
			return true, err
		}
	}
	u.log.Info("tunnel moved to gateway", "gateway", ep)
	return true, nil
}

func (u *Userspace) startSOCKS() error {
	ap, err := netip.ParseAddrPort(u.opts.SOCKSAddr)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("socks proxy address %q must be a loopback address with port", u.opts.SOCKSAddr)
	}
	if !peerCheckAvailable {
		// Without it every local user could reach the office network.
		u.log.Warn("socks proxy not started: this system cannot tell which user connects to it", "addr", u.opts.SOCKSAddr)
		return nil
	}
	ln, err := net.Listen("tcp", u.opts.SOCKSAddr)
	if err != nil {
		return fmt.Errorf("starting socks proxy: %w", err)
	}
	s := newSOCKSServer(ln, u.DialContext, os.Getuid(), u.log)
	u.mu.Lock()
	u.socks = s
	u.mu.Unlock()
	go s.serve()
	return nil
}

// SOCKSAddr is the proxy's host:port while it runs, else "".
func (u *Userspace) SOCKSAddr() string {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.socks == nil {
		return ""
	}
	return u.socks.ln.Addr().String()
}

// Down closes the tunnel and the proxy.
func (u *Userspace) Down() error {
	u.mu.Lock()
	dev, s := u.dev, u.socks
	u.dev, u.tnet, u.socks = nil, nil, nil
	u.cfg = Config{}
	u.mu.Unlock()
	if s != nil {
		s.close()
	}
	if dev != nil {
		dev.Close()
		u.log.Info("tunnel down")
	}
	return nil
}

// Rebind reopens the UDP sockets, e.g. after the network changed. The
// peer's endpoint stays; wireguard-go handshakes again on the next packet.
func (u *Userspace) Rebind() error {
	u.mu.RLock()
	dev := u.dev
	u.mu.RUnlock()
	if dev == nil {
		return ErrDown
	}
	err := dev.BindUpdate()
	if err == nil {
		return nil
	}
	// Between closing the old socket and opening the new one, another
	// socket can take the port. wireguard-go then forgets the port, so a
	// second try binds a free one; the gateway learns it from the next
	// handshake. Without it the device would stay without a socket.
	if err2 := dev.BindUpdate(); err2 != nil {
		return fmt.Errorf("rebinding the tunnel's socket: %w", errors.Join(err, err2))
	}
	return nil
}

// Rehandshake starts a fresh handshake with the gateway at once, on the
// running device: its keys are dropped, so the gateway's answer proves
// it is there (after a restart it no longer knows the old keys). The
// device, its netstack and the open connections stay, so no second
// device's handshake can follow within the gateway's flood window.
func (u *Userspace) Rehandshake() error {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.handshakeLocked()
}

// handshakeLocked is Rehandshake with u.mu held.
func (u *Userspace) handshakeLocked() error {
	dev, pub := u.dev, u.cfg.GatewayPublicKey
	if dev == nil {
		return ErrDown
	}
	hex, err := wgconf.HexKey(pub)
	if err != nil {
		return fmt.Errorf("gateway public key: %w", err)
	}
	var pk device.NoisePublicKey
	if err := pk.FromHex(hex); err != nil {
		return fmt.Errorf("gateway public key: %w", err)
	}
	peer := dev.LookupPeer(pk)
	if peer == nil {
		return errors.New("gateway peer missing from tunnel")
	}
	// Expiring resets wireguard-go's 5 s guard between initiations;
	// callers space their calls (session.Controller: at least 0.5 s).
	peer.ExpireCurrentKeypairs()
	if err := peer.SendHandshakeInitiation(false); err != nil {
		return fmt.Errorf("sending handshake: %w", err)
	}
	return nil
}

// Stats implements Engine.
func (u *Userspace) Stats() (Stats, error) {
	u.mu.RLock()
	dev, pub := u.dev, u.cfg.GatewayPublicKey
	u.mu.RUnlock()
	if dev == nil {
		return Stats{}, ErrDown
	}
	s, err := dev.IpcGet()
	if err != nil {
		return Stats{}, fmt.Errorf("reading tunnel state: %w", err)
	}
	d, err := wgconf.ParseUAPI(s)
	if err != nil {
		return Stats{}, fmt.Errorf("reading tunnel state: %w", err)
	}
	for _, p := range d.Peers {
		if p.PublicKey == pub {
			return Stats{LastHandshake: p.LastHandshake, RxBytes: p.RxBytes, TxBytes: p.TxBytes, Endpoint: p.Endpoint}, nil
		}
	}
	return Stats{}, errors.New("gateway peer missing from tunnel")
}

func (u *Userspace) current() (*netstack.Net, Config, error) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.tnet == nil {
		return nil, Config{}, ErrDown
	}
	return u.tnet, u.cfg, nil
}

// LookupHost implements Engine.
func (u *Userspace) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	tnet, cfg, err := u.current()
	if err != nil {
		return nil, err
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	out, err := lookupSearch(ctx, host, cfg.SearchDomains, func(ctx context.Context, name string) ([]netip.Addr, error) {
		ss, err := tnet.LookupContextHost(ctx, name)
		var addrs []netip.Addr
		for _, s := range ss {
			if a, perr := netip.ParseAddr(s); perr == nil {
				addrs = append(addrs, a)
			}
		}
		return addrs, err
	})
	if err != nil {
		return nil, fmt.Errorf("resolving %s through the tunnel: %w", host, err)
	}
	return out, nil
}

// DialContext implements Engine for "tcp", "tcp4", "tcp6", "udp", "udp4"
// and "udp6".
func (u *Userspace) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	tnet, cfg, err := u.current()
	if err != nil {
		return nil, err
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", address, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: bad port", address)
	}
	addrs, err := u.LookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	var lastErr error = ErrNotInTunnel
	for _, a := range addrs {
		if !cfg.Contains(a) {
			continue
		}
		if (network == "tcp4" || network == "udp4") && !a.Is4() || (network == "tcp6" || network == "udp6") && !a.Is6() {
			continue
		}
		ap := netip.AddrPortFrom(a, uint16(port))
		var c net.Conn
		switch network {
		case "tcp", "tcp4", "tcp6":
			c, err = tnet.DialContextTCPAddrPort(ctx, ap)
		case "udp", "udp4", "udp6":
			c, err = tnet.DialUDPAddrPort(netip.AddrPort{}, ap)
		default:
			return nil, fmt.Errorf("dialing through the tunnel: network %q not supported", network)
		}
		if err == nil {
			return c, nil
		}
		lastErr = netstackErr(err)
	}
	return nil, fmt.Errorf("dialing %s through the tunnel: %w", address, lastErr)
}

// netstackErr gives gVisor's dial errors, which arrive as plain text, the
// errno the kernel would have given, so callers can tell a refusal (the
// far end answered) from a timeout with errors.Is as for any socket.
func netstackErr(err error) error {
	msg := err.Error()
	for text, errno := range map[string]syscall.Errno{
		(&tcpip.ErrConnectionRefused{}).String():  syscall.ECONNREFUSED,
		(&tcpip.ErrHostUnreachable{}).String():    syscall.EHOSTUNREACH,
		(&tcpip.ErrNetworkUnreachable{}).String(): syscall.ENETUNREACH,
		(&tcpip.ErrTimeout{}).String():            syscall.ETIMEDOUT,
	} {
		if strings.Contains(msg, text) {
			return fmt.Errorf("%w (%v)", errno, err)
		}
	}
	return err
}

// wgLogger routes wireguard-go's logs to slog. Its verbose lines come per
// packet burst, so they are formatted only when debug logging is on.
func wgLogger(l *slog.Logger) *device.Logger {
	verbose := device.DiscardLogf
	if l.Enabled(context.Background(), slog.LevelDebug) {
		verbose = func(format string, args ...any) { l.Debug(fmt.Sprintf(format, args...)) }
	}
	return &device.Logger{
		Verbosef: verbose,
		Errorf:   func(format string, args ...any) { l.Warn(fmt.Sprintf(format, args...)) },
	}
}
