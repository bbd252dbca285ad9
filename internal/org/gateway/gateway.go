// Package gateway is the organisation's WireGuard endpoint. It admits a
// device's peer only while the portal's session authorisation for that
// device holds, and removes it when the authorisation expires or is
// revoked. Behind it, optionally, sits a small intranet: a DNS server and
// a web server on the gateway's tunnel address.
//
// It runs in two modes: userspace (gVisor netstack inside this process, no
// privileges; the demo and the tests) and kernel TUN (Linux, root), where
// the tunnel is a real network interface.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/tun/netstack"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// PeerSource tells which device peers are admitted at a moment. It is an
// interface so the gateway can run beside the portal (*portalsrv.Server
// implements it) or, later, poll a portal over the network.
// Implementations must be safe for concurrent use.
type PeerSource interface {
	AuthorisedPeers(ctx context.Context, now time.Time) ([]portalsrv.Peer, error)
}

// notifier is the optional push side of a PeerSource: a change signal
// lets the gateway admit a peer at once instead of at the next poll.
type notifier interface {
	Subscribe() (<-chan struct{}, func())
}

// Config configures a gateway. Zero fields take the documented defaults.
type Config struct {
	// PrivateKey is the gateway's base64 WireGuard private key.
	PrivateKey string
	// ListenPort is the UDP port; 0 picks a free one (see Port).
	ListenPort int
	// Address is the gateway's tunnel address with the office prefix,
	// e.g. 10.77.0.1/16. DNS and HTTP listen on its address.
	Address netip.Prefix
	// Peers is asked which peers to admit. Required.
	Peers PeerSource
	// PollInterval is how often Peers is asked. Default 1s.
	PollInterval time.Duration
	// DNS, if not nil, is answered on Address port 53 (UDP).
	DNS *DNSZone
	// HTTP, if not nil, is served on Address port 80.
	HTTP http.Handler
	// HTTPIdleTimeout closes a keep-alive connection to HTTP that has
	// sent no request for this long. Default 60s.
	HTTPIdleTimeout time.Duration
	// MTU of the tunnel. Default 1420.
	MTU int
	// Kernel selects kernel TUN mode; nil means userspace netstack.
	Kernel *KernelOptions
	// Handshakes, if not nil, is told the peers' latest handshakes (the
	// portal), so its console shows through which gateway each device
	// is connected.
	Handshakes HandshakeSink
	// Now is the clock, shared with the portal in tests. nil means time.Now.
	Now func() time.Time
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// KernelOptions configure kernel TUN mode (Linux, root).
type KernelOptions struct {
	// Interface is the TUN device name, e.g. "dwgw0". It must be unique on
	// the host: wireguard-go control sockets are shared across namespaces.
	Interface string
}

// Gateway is a running WireGuard endpoint. Its methods are safe for
// concurrent use.
type Gateway struct {
	cfg  Config
	log  *slog.Logger
	wg   wireGuard
	port int
	pub  string
	sys  system

	mu    sync.Mutex
	peers map[string]admitted // by base64 public key
	last  []portalsrv.Peer    // last good answer of the source

	kick   chan struct{}
	cancel context.CancelFunc
	tasks  sync.WaitGroup

	closeOnce sync.Once
}

type admitted struct {
	peer portalsrv.Peer
}

// system is what differs between userspace and kernel mode: the TUN
// device and the sockets the intranet services listen on.
type system interface {
	ListenTCP(addr netip.AddrPort) (net.Listener, error)
	ListenUDP(addr netip.AddrPort) (net.PacketConn, error)
	Close() error
}

// Start brings the gateway up and keeps its peers in line with Peers
// until ctx ends or Close is called.
func Start(ctx context.Context, cfg Config) (*Gateway, error) {
	if cfg.Peers == nil {
		return nil, errors.New("gateway needs a peer source")
	}
	if !cfg.Address.IsValid() {
		return nil, errors.New("gateway needs a tunnel address")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1420
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	keyHex, err := wgconf.HexKey(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("gateway private key: %w", err)
	}
	pub, err := wgconf.PublicKey(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("gateway private key: %w", err)
	}
	g := &Gateway{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "gateway"),
		pub:   pub,
		peers: map[string]admitted{},
		kick:  make(chan struct{}, 1),
	}
	mode := "userspace"
	if cfg.Kernel != nil {
		// The kernel's WireGuard where the module exists; wireguard-go
		// on a TUN device otherwise.
		mode = "kernel wireguard"
		g.wg, g.sys, err = openKernelWireGuard(cfg.Kernel, cfg.Address, cfg.MTU, cfg.PrivateKey, cfg.ListenPort)
		if errors.Is(err, errNoKernelWireGuard) {
			g.log.Info("no WireGuard kernel module; using wireguard-go on a TUN device", "interface", cfg.Kernel.Interface, "err", err)
			mode = "tun"
			err = nil
			g.wg = nil
		}
		if err != nil {
			return nil, fmt.Errorf("gateway tunnel device: %w", err)
		}
	}
	if g.wg == nil {
		var tdev tun.Device
		if cfg.Kernel != nil {
			tdev, g.sys, err = openKernel(cfg.Kernel, cfg.Address, cfg.MTU)
		} else {
			var tnet *netstack.Net
			tdev, tnet, err = netstack.CreateNetTUN([]netip.Addr{cfg.Address.Addr()}, nil, cfg.MTU)
			g.sys = netstackSys{tnet}
		}
		if err != nil {
			return nil, fmt.Errorf("gateway tunnel device: %w", err)
		}
		dev := device.NewDevice(tdev, conn.NewDefaultBind(), wgLogger(g.log))
		g.wg = goWireGuard{dev}
		if err := dev.IpcSet(fmt.Sprintf("private_key=%s\nlisten_port=%d\n", keyHex, cfg.ListenPort)); err != nil {
			g.closeDevice()
			return nil, fmt.Errorf("configuring gateway: %w", err)
		}
		if err := dev.Up(); err != nil {
			g.closeDevice()
			return nil, fmt.Errorf("gateway up: %w", err)
		}
	}
	fail := func(err error) (*Gateway, error) {
		g.closeDevice()
		return nil, err
	}
	st, err := g.wg.state()
	if err != nil {
		return fail(err)
	}
	g.port = st.ListenPort

	ctx, g.cancel = context.WithCancel(ctx)
	if err := g.startServices(ctx); err != nil {
		g.cancel()
		g.tasks.Wait()
		return fail(err)
	}
	// Admit the already authorised peers before returning, so a caller
	// that starts the gateway and then a client does not race the poll.
	if err := g.Reconcile(ctx); err != nil {
		g.log.Warn("first peer sync failed; retrying", "err", err)
	}
	g.tasks.Add(1)
	go g.loop(ctx)
	if cfg.Handshakes != nil {
		g.tasks.Add(1)
		go g.reportLoop(ctx)
	}
	g.log.Info("gateway up", "port", g.port, "address", cfg.Address, "mode", mode)
	return g, nil
}

func (g *Gateway) startServices(ctx context.Context) error {
	addr := g.cfg.Address.Addr()
	if g.cfg.DNS != nil {
		pc, err := g.sys.ListenUDP(netip.AddrPortFrom(addr, 53))
		if err != nil {
			return fmt.Errorf("gateway dns: %w", err)
		}
		g.tasks.Add(2)
		go func() { defer g.tasks.Done(); g.cfg.DNS.Serve(pc) }()
		go func() { defer g.tasks.Done(); <-ctx.Done(); pc.Close() }()
	}
	if g.cfg.HTTP != nil {
		ln, err := g.sys.ListenTCP(netip.AddrPortFrom(addr, 80))
		if err != nil {
			return fmt.Errorf("gateway http: %w", err)
		}
		// Every phase is bounded: without ReadTimeout and IdleTimeout a
		// client that stops sending holds its connection and goroutine
		// for good.
		idle := g.cfg.HTTPIdleTimeout
		if idle == 0 {
			idle = 60 * time.Second
		}
		hs := &http.Server{
			Handler:           g.cfg.HTTP,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       idle,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		}
		g.tasks.Add(2)
		go func() { defer g.tasks.Done(); hs.Serve(ln) }()
		go func() { defer g.tasks.Done(); <-ctx.Done(); hs.Close() }()
	}
	return nil
}

// loop polls the source, reacts to its change signal, and reconciles.
func (g *Gateway) loop(ctx context.Context) {
	defer g.tasks.Done()
	var changed <-chan struct{}
	if n, ok := g.cfg.Peers.(notifier); ok {
		ch, stop := n.Subscribe()
		defer stop()
		changed = ch
	}
	t := time.NewTicker(g.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
		case <-g.kick:
		}
		if err := g.Reconcile(ctx); err != nil && ctx.Err() == nil {
			g.log.Warn("syncing gateway peers", "err", err)
		}
	}
}

// Kick asks for a reconcile soon, e.g. after the caller moved a test
// clock. It never blocks.
func (g *Gateway) Kick() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Reconcile makes the device's peers exactly the authorised ones now.
// If the source fails, the last answer still applies, minus the peers
// whose admission has meanwhile ended: an unreachable portal never keeps
// a peer past its end.
func (g *Gateway) Reconcile(ctx context.Context) error {
	now := g.cfg.Now()
	peers, srcErr := g.cfg.Peers.AuthorisedPeers(ctx, now)
	g.mu.Lock()
	defer g.mu.Unlock()
	if srcErr != nil {
		peers = g.last
	} else {
		g.last = peers
	}
	want := map[string]portalsrv.Peer{}
	for _, p := range peers {
		if !now.Before(p.Until) || !p.Address.IsValid() {
			continue
		}
		want[p.PublicKey] = p
	}
	var changes []peerChange
	var added, removed []string
	for pk := range g.peers {
		if _, ok := want[pk]; ok {
			continue
		}
		changes = append(changes, peerChange{PublicKey: pk, Remove: true})
		removed = append(removed, pk)
	}
	for pk, p := range want {
		cur, ok := g.peers[pk]
		if ok && cur.peer.Address == p.Address {
			continue
		}
		if _, err := wgconf.HexKey(pk); err != nil {
			g.log.Warn("skipping peer with a bad key", "device", p.DeviceID, "err", err)
			delete(want, pk)
			continue
		}
		// The allowed IP is the device's own address only: cryptokey
		// routing then drops anything it sends from another source.
		changes = append(changes, peerChange{PublicKey: pk, AllowedIP: p.Address.Masked()})
		added = append(added, pk)
	}
	if len(changes) > 0 {
		if err := g.wg.setPeers(changes); err != nil {
			return errors.Join(srcErr, fmt.Errorf("setting gateway peers: %w", err))
		}
	}
	next := make(map[string]admitted, len(want))
	for pk, p := range want {
		next[pk] = admitted{peer: p}
	}
	g.peers = next
	for _, pk := range added {
		g.log.Info("peer admitted", "device", want[pk].DeviceID, "user", want[pk].User, "until", want[pk].Until)
	}
	for _, pk := range removed {
		g.log.Info("peer removed", "public_key", pk)
	}
	if srcErr != nil {
		return fmt.Errorf("asking portal for peers: %w", srcErr)
	}
	return nil
}

// PeerStatus is one admitted peer as the gateway sees it.
type PeerStatus struct {
	portalsrv.Peer
	Endpoint      netip.AddrPort
	LastHandshake time.Time
	RxBytes       uint64
	TxBytes       uint64
}

// Peers lists the admitted peers, sorted by device id.
func (g *Gateway) Peers() ([]PeerStatus, error) {
	st, err := g.wg.state()
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []PeerStatus
	for _, p := range st.Peers {
		a, ok := g.peers[p.PublicKey]
		if !ok {
			continue
		}
		out = append(out, PeerStatus{Peer: a.peer, Endpoint: p.Endpoint, LastHandshake: p.LastHandshake, RxBytes: p.RxBytes, TxBytes: p.TxBytes})
	}
	slices.SortFunc(out, func(a, b PeerStatus) int { return strings.Compare(a.DeviceID, b.DeviceID) })
	return out, nil
}

// closeDevice removes the WireGuard device and the system's part.
func (g *Gateway) closeDevice() error {
	g.wg.close()
	return g.sys.Close()
}

// Port is the UDP port the gateway listens on.
func (g *Gateway) Port() int { return g.port }

// Endpoint is 127.0.0.1:Port, the endpoint for clients on this machine.
func (g *Gateway) Endpoint() string { return fmt.Sprintf("127.0.0.1:%d", g.port) }

// PublicKey is the gateway's base64 public key.
func (g *Gateway) PublicKey() string { return g.pub }

// Close stops the gateway and removes its device. It is idempotent.
func (g *Gateway) Close() error {
	var err error
	g.closeOnce.Do(func() {
		g.cancel()
		g.tasks.Wait()
		err = g.closeDevice()
		g.log.Info("gateway stopped")
	})
	return err
}

// netstackSys is userspace mode: services listen on the netstack.
type netstackSys struct{ tnet *netstack.Net }

func (n netstackSys) ListenTCP(a netip.AddrPort) (net.Listener, error) {
	return n.tnet.ListenTCPAddrPort(a)
}

func (n netstackSys) ListenUDP(a netip.AddrPort) (net.PacketConn, error) {
	return n.tnet.ListenUDPAddrPort(a)
}

// Close is a no-op: closing the device closes the netstack.
func (netstackSys) Close() error { return nil }

// wgLogger routes wireguard-go's logs to slog at debug level; its
// verbose lines are per packet burst and not for the normal log.
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
