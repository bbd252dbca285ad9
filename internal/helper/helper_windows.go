package helper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/windows/svc"

	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// On Windows the helper is the service DienstwegHelper (installed by the
// MSI, LocalSystem, `dienstwegw.exe helper`). It does what the Linux
// helper does, with Windows means:
//   - the API on the named pipe helperapi.DefaultPipe, whose security
//     descriptor admits SYSTEM, Administrators and the allowed group
//     (pipeSDDL); each caller is checked again from its token
//     (pipe_windows.go);
//   - the TUN device from wintun (wireguard-go's tun.CreateTUN), its
//     address, MTU and routes through the IP Helper API (winipcfg), in
//     net_windows.go;
//   - the office DNS as NRPT rules (nrpt.go, nrpt_windows.go);
//   - clean-up after a crash at each start (recoverWindows).
// Started from a console (not by the service manager) it runs in the
// foreground until ctx ends, for tests and diagnosis.

// serviceName is the service's name in the MSI (packaging/windows).
const serviceName = "DienstwegHelper"

// windowsDefaults fills in what differs from the Linux defaults in
// Options.defaults.
func windowsDefaults(o *Options) {
	if o.Socket == "" {
		o.Socket = helperapi.DefaultPipe
	}
	if o.Group == "" {
		o.Group = defaultWindowsGroup
	}
	if o.StateDir == "" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		// Under the profile folder, which the MSI locks down to
		// SYSTEM and Administrators.
		o.StateDir = filepath.Join(pd, "Dienstweg", "helper")
	}
	if o.Interface == "" {
		o.Interface = "Dienstweg"
	}
	if o.DNS == "" || o.DNS == DNSAuto {
		o.DNS = DNSNRPT
	}
}

// DNSNRPT is the Windows DNS method: rules in the Name Resolution Policy
// Table. "auto" means it on Windows.
const DNSNRPT = "nrpt"

// Run runs the helper: as the Windows service when the service manager
// started the process, else in the foreground until ctx ends.
func Run(ctx context.Context, opts Options) error {
	windowsDefaults(&opts)
	dns := opts.DNS
	if dns == DNSNRPT {
		opts.DNS = DNSAuto // defaults() knows the Linux names only
	}
	if err := opts.defaults(); err != nil {
		return err
	}
	switch dns {
	case DNSNRPT, DNSAuto:
		opts.DNS = DNSNRPT
	case DNSOff:
	default:
		return fmt.Errorf("dns method %q is not available on Windows (nrpt, off)", dns)
	}
	inService, err := svc.IsWindowsService()
	if err != nil {
		return fmt.Errorf("asking whether this is a service: %w", err)
	}
	if !inService {
		return serveWindows(ctx, opts, nil, nil)
	}
	// The service manager's stderr goes nowhere: the log goes to a file
	// beside the state file as well.
	if f, err := openServiceLog(opts.StateDir); err == nil {
		defer f.Close()
		opts.Logger = slog.New(teeHandler{opts.Logger.Handler(), slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})})
	}
	setRecovery(opts.Logger)
	h := &serviceHandler{run: func(ctx context.Context, ready func(), resumed <-chan struct{}) error {
		return serveWindows(ctx, opts, ready, resumed)
	}, log: opts.Logger}
	if err := svc.Run(serviceName, h); err != nil {
		return fmt.Errorf("running as service %s: %w", serviceName, err)
	}
	return h.err
}

type winServer struct {
	opts     Options
	log      *slog.Logger
	groupSID string

	mu   sync.Mutex // serialises session changes
	sess *tunnelSession
	st   winState // what is changed on the system now (mirrors the state file)
}

// serveWindows cleans up, serves the pipe until ctx ends, and then
// removes everything it changed. ready (may be nil) is called once the
// pipe accepts callers; a value on resumed means the computer woke up.
func serveWindows(ctx context.Context, opts Options, ready func(), resumed <-chan struct{}) error {
	h := &winServer{opts: opts, log: opts.Logger.With("component", "helper")}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	// A failed clean-up is logged, not fatal: the service must keep
	// running so that the next Up, or the next start, can try again.
	h.recover()
	sid, err := groupSID(opts.Group, opts.Group == defaultWindowsGroup)
	if err != nil {
		h.log.Warn("allowed group unavailable; only SYSTEM and administrators may use the helper", "group", opts.Group, "err", err)
	}
	h.groupSID = sid
	ln, err := listenPipe(opts.Socket, sid)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           h.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       withPipeCaller,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	h.log.Info("helper ready", "pipe", opts.Socket, "group", opts.Group, "group_sid", sid, "interface", opts.Interface, "dns", opts.DNS)
	if ready != nil {
		ready()
	}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-errc:
			err = fmt.Errorf("serving the helper pipe: %w", err)
			break loop
		case <-resumed:
			h.resume()
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	hs.Shutdown(sctx)
	cancel()
	h.mu.Lock()
	derr := h.downLocked()
	h.mu.Unlock()
	h.log.Info("helper stopped")
	return errors.Join(err, derr)
}

// resume reopens the tunnel's sockets after the computer woke up: the
// network behind them may have changed while it slept. The agent sees
// the new handshake in the status.
func (h *winServer) resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sess == nil {
		return
	}
	if err := h.sess.dev.BindUpdate(); err != nil {
		h.log.Warn("reopening tunnel sockets after resume", "err", err)
		return
	}
	h.log.Info("resumed from sleep; tunnel sockets reopened")
}

func (h *winServer) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+helperapi.PathUp, h.handleUp)
	mux.HandleFunc("POST "+helperapi.PathDown, h.handleDown)
	mux.HandleFunc("GET "+helperapi.PathStatus, h.handleStatus)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := pipeCallerFrom(r.Context())
		if err != nil {
			h.log.Warn("refused a caller without identity", "err", err, "path", r.URL.Path)
			writeErr(w, http.StatusForbidden, "caller identity unavailable")
			return
		}
		if !c.allowedBy(h.groupSID) {
			h.log.Warn("refused a caller", "user", c.User, "path", r.URL.Path)
			writeErr(w, http.StatusForbidden, fmt.Sprintf("user %s may not use the tunnel helper (not an administrator, not in group %s)", c.User, h.opts.Group))
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

func (h *winServer) handleUp(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeErr(w, http.StatusUnsupportedMediaType, "the body must be application/json")
		return
	}
	c, _ := pipeCallerFrom(r.Context())
	cfg, plan, err := decodeUp(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		h.log.Warn("refused a tunnel request", "user", c.User, "err", err)
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	st, err := h.up(cfg, plan, c.User)
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

func (h *winServer) handleDown(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	err := h.downLocked()
	h.mu.Unlock()
	if err != nil {
		writeErr(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h.status())
}

func (h *winServer) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.status())
}

func (h *winServer) status() helperapi.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return statusOf(h.sess)
}

// up brings the session up with cfg and its plan, checked by decodeUp.
func (h *winServer) up(cfg tunnel.Config, plan tunnel.Plan, user string) (helperapi.Status, error) {
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
		h.log.Info("tunnel reconfigured", "user", user, "interface", s.name, "gateway", plan.Gateway)
		return statusOf(s), nil
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
	h.log.Info("tunnel up", "user", user, "interface", s.name, "address", plan.Address, "gateway", plan.Gateway, "routes", plan.Routes, "dns", s.dns)
	return statusOf(s), nil
}

// downLocked ends the session and undoes every change. h.mu is held.
func (h *winServer) downLocked() error {
	if h.sess == nil && h.st.empty() {
		return nil
	}
	err := h.undo()
	if err == nil {
		h.log.Info("tunnel down")
	}
	return err
}

// record saves the state file before a change is made.
func (h *winServer) record(mod func(*winState)) error {
	next := h.st
	next.Routes = slices.Clone(next.Routes)
	mod(&next)
	if err := next.save(h.statePath()); err != nil {
		return err
	}
	h.st = next
	return nil
}

func (h *winServer) statePath() string { return filepath.Join(h.opts.StateDir, "helper-state.json") }

// openServiceLog opens helper.log in dir, emptied when it has grown past
// 1 MiB, so it holds the last runs.
func openServiceLog(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "helper.log")
	flag := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if st, err := os.Stat(p); err == nil && st.Size() > 1<<20 {
		flag |= os.O_TRUNC
	}
	return os.OpenFile(p, flag, 0o600)
}

// teeHandler writes each record to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	if t.a.Enabled(ctx, r.Level) {
		errs = append(errs, t.a.Handle(ctx, r.Clone()))
	}
	if t.b.Enabled(ctx, r.Level) {
		errs = append(errs, t.b.Handle(ctx, r.Clone()))
	}
	return errors.Join(errs...)
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}
