package helper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// Run cleans up what an earlier run left behind, then serves the API on
// the socket until ctx ends, and then ends the session and removes
// everything it changed.
func Run(ctx context.Context, opts Options) error {
	if err := opts.defaults(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("the helper must run as root")
	}
	h := &server{opts: opts, log: opts.Logger.With("component", "helper"), allow: allowList{group: opts.Group, uids: opts.AllowUIDs}}
	if err := os.MkdirAll(opts.StateDir, 0o755); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	if err := h.recover(); err != nil {
		return err
	}
	ln, err := h.listen()
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           h.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       withPeer,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	h.log.Info("helper ready", "socket", opts.Socket, "group", opts.Group, "interface", opts.Interface, "dns", opts.DNS)
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serving the helper socket: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	hs.Shutdown(sctx)
	cancel()
	os.Remove(opts.Socket)
	h.mu.Lock()
	derr := h.downLocked()
	h.mu.Unlock()
	h.log.Info("helper stopped")
	return errors.Join(err, derr)
}

type server struct {
	opts  Options
	log   *slog.Logger
	allow allowList

	mu   sync.Mutex // serialises session changes
	sess *session
	ch   changes // what is changed on the system now (mirrors the state file)
}

// session is the running tunnel. cfg holds the private key, in memory
// only.
type session struct {
	tunnelSession
	index int
}

// listen opens the socket with its mode and group. The peer check in
// the handler is the second line behind the file permissions.
func (h *server) listen() (net.Listener, error) {
	sock := h.opts.Socket
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		return nil, fmt.Errorf("creating socket directory: %w", err)
	}
	if st, err := os.Lstat(sock); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", sock)
		}
		os.Remove(sock) // left by a crash
	}
	// Made under a temporary name with no access for anyone but root,
	// given its owner and mode, and only then renamed into place: a
	// client never finds the socket half set up.
	tmp := sock + ".new"
	os.Remove(tmp)
	old := unix.Umask(0o177)
	ln, err := net.Listen("unix", tmp)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", tmp, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	gid := 0
	if h.opts.Group != "-" {
		if g, err := user.LookupGroup(h.opts.Group); err == nil {
			gid, _ = strconv.Atoi(g.Gid)
		} else {
			h.log.Warn("allowed group not found; only root and listed users may use the helper", "group", h.opts.Group, "err", err)
		}
	}
	err = os.Chown(tmp, 0, gid)
	if err == nil {
		err = os.Chmod(tmp, h.opts.SocketMode)
	}
	if err == nil {
		err = os.Rename(tmp, sock)
	}
	if err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("setting up socket %s: %w", sock, err)
	}
	return ln, nil
}

type peerKey struct{}

type peerInfo struct {
	p   peer
	err error
}

func withPeer(ctx context.Context, c net.Conn) context.Context {
	p, err := peerOf(c)
	return context.WithValue(ctx, peerKey{}, peerInfo{p, err})
}

// peerOf asks the kernel who is at the other end (SO_PEERCRED); a
// client cannot forge it.
func peerOf(c net.Conn) (peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peer{}, fmt.Errorf("not a unix connection: %T", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peer{}, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return peer{}, err
	}
	if cerr != nil {
		return peer{}, cerr
	}
	return peer{UID: int(cred.Uid), GID: int(cred.Gid), PID: int(cred.Pid)}, nil
}

func (h *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+helperapi.PathUp, h.handleUp)
	mux.HandleFunc("POST "+helperapi.PathDown, h.handleDown)
	mux.HandleFunc("GET "+helperapi.PathStatus, h.handleStatus)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pi, _ := r.Context().Value(peerKey{}).(peerInfo)
		if pi.err != nil {
			writeErr(w, http.StatusForbidden, "peer credentials unavailable")
			return
		}
		if !h.allow.allows(pi.p) {
			h.log.Warn("refused a caller", "uid", pi.p.UID, "gid", pi.p.GID, "pid", pi.p.PID, "path", r.URL.Path)
			writeErr(w, http.StatusForbidden, fmt.Sprintf("uid %d may not use the tunnel helper (not root, not in group %s)", pi.p.UID, h.opts.Group))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, helperapi.Error{Error: msg})
}

func (h *server) handleUp(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeErr(w, http.StatusUnsupportedMediaType, "the body must be application/json")
		return
	}
	pi, _ := r.Context().Value(peerKey{}).(peerInfo)
	cfg, plan, err := decodeUp(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		h.log.Warn("refused a tunnel request", "uid", pi.p.UID, "err", err)
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	st, err := h.up(cfg, plan, pi.p.UID)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.As(err, new(badRequest)) {
			code = http.StatusBadRequest
		}
		writeErr(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *server) handleDown(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	err := h.downLocked()
	h.mu.Unlock()
	if err != nil {
		writeErr(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h.status())
}

func (h *server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.status())
}

func (h *server) status() helperapi.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sess == nil {
		return statusOf(nil)
	}
	return statusOf(&h.sess.tunnelSession)
}

// up brings the session up with cfg and its plan, checked by decodeUp.
func (h *server) up(cfg tunnel.Config, plan tunnel.Plan, uid int) (helperapi.Status, error) {
	uapi, err := tunnel.UAPIConfig(cfg, plan.Gateway)
	if err != nil {
		return helperapi.Status{}, badRequest{err}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.sess; s != nil && s.plan.SameNetwork(plan) {
		if err := s.reconfigure(cfg, plan, uapi); err != nil {
			return helperapi.Status{}, err
		}
		h.log.Info("tunnel reconfigured", "uid", uid, "interface", s.name, "gateway", plan.Gateway)
		return statusOf(&s.tunnelSession), nil
	}
	if err := h.downLocked(); err != nil {
		return helperapi.Status{}, err
	}
	s, err := h.create(cfg, plan, uapi)
	if err != nil {
		if derr := h.undo(); derr != nil {
			h.log.Error("undoing a failed start", "err", derr)
		}
		return helperapi.Status{}, err
	}
	h.sess = s
	h.log.Info("tunnel up", "uid", uid, "interface", s.name, "address", plan.Address, "gateway", plan.Gateway, "routes", plan.Routes, "dns", s.dns)
	return statusOf(&s.tunnelSession), nil
}

// record saves the state file before a change is made.
func (h *server) record(mod func(*changes)) error {
	next := h.ch
	next.Routes = slices.Clone(next.Routes)
	mod(&next)
	if err := next.save(h.opts.statePath()); err != nil {
		return err
	}
	h.ch = next
	return nil
}

// create carries out the plan: the device, address, routes and DNS,
// recording each before it is made. On error the caller undoes what
// h.ch lists. cfg is kept for the WireGuard statistics.
func (h *server) create(cfg tunnel.Config, plan tunnel.Plan, uapi string) (*session, error) {
	name := h.opts.Interface
	if err := h.record(func(c *changes) { c.Interface = name }); err != nil {
		return nil, err
	}
	tdev, err := tun.CreateTUN(name, plan.MTU)
	if err != nil {
		return nil, fmt.Errorf("creating tun device %s: %w", name, err)
	}
	s := &session{tunnelSession: tunnelSession{cfg: cfg, plan: plan, name: name}}
	s.dev = device.NewDevice(tdev, conn.NewDefaultBind(), tunnel.WireGuardLogger(h.log))
	// From here the session owns the device: undo closes it.
	h.sess = s
	if err := s.dev.IpcSet(uapi); err != nil {
		return nil, fmt.Errorf("configuring tunnel: %w", err)
	}
	if err := s.dev.Up(); err != nil {
		return nil, fmt.Errorf("tunnel up: %w", err)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", name, err)
	}
	s.index = link.Attrs().Index
	if err := h.record(func(c *changes) { c.IfIndex = s.index }); err != nil {
		return nil, err
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(plan.Address)}); err != nil {
		return nil, fmt.Errorf("setting address %s on %s: %w", plan.Address, name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("setting %s up: %w", name, err)
	}
	for _, p := range plan.Routes {
		if err := h.record(func(c *changes) { c.Routes = append(c.Routes, p) }); err != nil {
			return nil, err
		}
		r := &netlink.Route{LinkIndex: s.index, Dst: ipNet(p), Scope: netlink.SCOPE_LINK}
		if err := netlink.RouteAdd(r); err != nil {
			if errors.Is(err, unix.EEXIST) {
				return nil, badRequest{fmt.Errorf("the office network %s is already routed on this computer (does the home network use the same addresses?)", p)}
			}
			return nil, fmt.Errorf("adding route %s: %w", p, err)
		}
	}
	if !plan.DNS.Empty() {
		method, err := h.setDNS(s, plan.DNS)
		if err != nil {
			return nil, err
		}
		s.dns = method
	}
	return s, nil
}

// setDNS sets the office DNS with the configured method.
func (h *server) setDNS(s *session, dns tunnel.DNSPlan) (string, error) {
	method := h.opts.DNS
	if method == DNSOff {
		return "", nil
	}
	if method == DNSAuto {
		method = DNSFile
		if resolvedRunning() {
			method = DNSResolved
		}
	}
	switch method {
	case DNSResolved:
		if err := h.record(func(c *changes) { c.DNS = DNSResolved }); err != nil {
			return "", err
		}
		if err := resolvedSetLink(s.index, dns.Servers, dns.Domains); err != nil {
			return "", fmt.Errorf("setting office DNS with systemd-resolved: %w", err)
		}
	case DNSFile:
		if err := h.record(func(c *changes) { c.DNS, c.ResolvConf = DNSFile, h.opts.ResolvConf }); err != nil {
			return "", err
		}
		if err := editResolvConf(h.opts.ResolvConf, func(b []byte) []byte {
			return addOfficeDNS(b, dns.Servers, dns.Domains)
		}); err != nil {
			return "", fmt.Errorf("setting office DNS: %w", err)
		}
	}
	return method, nil
}

// downLocked ends the session and undoes every change. h.mu is held.
func (h *server) downLocked() error {
	if h.sess == nil && h.ch.empty() {
		return nil
	}
	err := h.undo()
	if err == nil {
		h.log.Info("tunnel down")
	}
	return err
}

// undo closes the device and reverts what h.ch lists, DNS first, then
// routes, then the device, and clears the state file once all is gone.
func (h *server) undo() error {
	var errs []error
	c := h.ch
	// DNS first: systemd-resolved forgets a link's settings only with
	// the link.
	if err := revertDNS(c); err != nil {
		errs = append(errs, err)
	}
	if s := h.sess; s != nil {
		h.sess = nil
		// Closing the TUN removes the device with its address and routes.
		s.dev.Close()
	}
	// Whatever is still there (e.g. recorded by a run that crashed).
	errs = append(errs, removeRoutesAndLink(c)...)
	err := errors.Join(errs...)
	if err != nil {
		return fmt.Errorf("removing the tunnel's changes: %w", err)
	}
	h.ch = changes{}
	return changes{}.save(h.opts.statePath())
}

func revertDNS(c changes) error {
	switch c.DNS {
	case DNSResolved:
		// The link's settings go with the link; this is for the case the
		// link outlives us.
		if err := resolvedRevertLink(c.IfIndex); err != nil && !errors.Is(err, errNoResolved) {
			return fmt.Errorf("reverting office DNS in systemd-resolved: %w", err)
		}
	case DNSFile:
		if err := editResolvConf(c.ResolvConf, removeOfficeDNS); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reverting office DNS: %w", err)
		}
	}
	return nil
}

// removeRoutesAndLink deletes the recorded routes and the device, if
// they still exist. The device is deleted only if it is a TUN device of
// the recorded name: never someone else's interface.
func removeRoutesAndLink(c changes) []error {
	var errs []error
	if c.Interface == "" {
		return nil
	}
	link, err := netlink.LinkByName(c.Interface)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil // gone, and its routes with it
		}
		return []error{fmt.Errorf("finding %s: %w", c.Interface, err)}
	}
	if link.Type() != "tuntap" {
		return []error{fmt.Errorf("%s is not a tun device; leaving it alone", c.Interface)}
	}
	for _, p := range c.Routes {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(p), Scope: netlink.SCOPE_LINK}
		if err := netlink.RouteDel(r); err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("removing route %s: %w", p, err))
		}
	}
	if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		errs = append(errs, fmt.Errorf("removing %s: %w", c.Interface, err))
	}
	return errs
}

// recover undoes what the state file lists, left by a crash, and strips
// office DNS lines from resolv.conf even without a state file (a reboot
// empties /run but not /etc).
func (h *server) recover() error {
	c, err := loadChanges(h.opts.statePath())
	if err != nil {
		h.log.Warn("state file unreadable; cleaning up by name", "err", err)
		c = changes{Interface: h.opts.Interface}
	}
	if h.opts.DNS == DNSFile || h.opts.DNS == DNSAuto {
		if c.DNS == "" {
			c.DNS, c.ResolvConf = DNSFile, h.opts.ResolvConf
		}
	}
	if c.empty() {
		return nil
	}
	h.ch = c
	if err := h.undo(); err != nil {
		return fmt.Errorf("cleaning up after an earlier run: %w", err)
	}
	if c.Interface != "" {
		h.log.Info("cleaned up after an earlier run", "interface", c.Interface, "routes", c.Routes, "dns", c.DNS)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
