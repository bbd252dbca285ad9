package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/localapi/wire"
)

// maxBody bounds request bodies; every request here is tiny.
const maxBody = 64 << 10

// Server serves the local API on a unix socket.
type Server struct {
	b   Backend
	log *slog.Logger
	// allowedUID is the only uid whose connections are served.
	allowedUID int

	srv *http.Server
	ln  net.Listener
}

// Config tunes a Server. Zero values mean defaults.
type Config struct {
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// AllowedUID; nil means the agent's own uid.
	AllowedUID *int
}

// NewServer returns a server for b.
func NewServer(b Backend, cfg Config) *Server {
	s := &Server{b: b, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.allowedUID = os.Getuid()
	if cfg.AllowedUID != nil {
		s.allowedUID = *cfg.AllowedUID
	}
	return s
}

type ctxKey struct{}

// Listen creates the socket at path (mode 0600 in a 0700 directory) and
// serves until Close. A stale socket left by a crashed agent is replaced;
// a live one means another agent runs, reported as ErrAgentRunning.
func (s *Server) Listen(path string) error {
	ln, err := Listen(path)
	if err != nil {
		return err
	}
	s.Serve(ln)
	return nil
}

// Listen creates the socket without serving it yet, so the agent can
// claim its place first and get ready before the first request arrives.
func Listen(path string) (net.Listener, error) {
	if err := prepareSocketDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err == nil {
		if alive(path) {
			return nil, ErrAgentRunning
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("securing socket: %w", err)
	}
	return ln, nil
}

// Serve serves on ln in the background.
func (s *Server) Serve(ln net.Listener) {
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			uid, err := peerUID(c)
			if err != nil && !errors.Is(err, errNoPeerCred) {
				uid = -1
			} else if err != nil {
				uid = s.allowedUID
			}
			return context.WithValue(ctx, ctxKey{}, uid)
		},
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("local API stopped", "err", err)
		}
	}()
}

// Close stops the server and removes the socket. Streams of windows end
// once their owner has told them to close; Close cuts the rest after a
// grace period.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close() // streams of open windows never finish on their own
	}
	return err
}

// ErrAgentRunning means another agent already serves the socket.
var ErrAgentRunning = errors.New("another agent is already running")

func alive(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Handler returns the API's routes, behind the peer check.
func (s *Server) Handler() http.Handler { return s.checkPeer(s.routes()) }

// routes is the API without the peer check.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	b := s.b
	routes := []struct {
		method, path string
		h            http.HandlerFunc
		served       bool // the backend has the part this route needs
	}{
		{"GET", "/v1/status", s.handleStatus, b.State != nil},
		{"GET", "/v1/watch", s.handleWatch, b.State != nil},
		{"POST", "/v1/session/start", s.handleStart, b.Session != nil},
		{"POST", "/v1/session/end", s.handleEnd, b.Session != nil},
		{"POST", "/v1/windows/open", s.handleOpenWindow, b.Windows != nil},
		{"POST", "/v1/announcements/read", s.handleMarkRead, b.Announcements != nil},
		{"GET", "/v1/announcements", s.handleAnnouncements, b.Announcements != nil},
		{"POST", "/v1/update/check", s.handleCheckUpdate, b.Updates != nil},
		{"POST", "/v1/update/choose", s.handleChooseUpdate, b.Updates != nil},
		{"POST", "/v1/safemode", s.handleSafeMode, b.Support != nil},
		{"POST", "/v1/desktop/open", s.handleOpenDesktop, b.Desktops != nil},
		{"GET", "/v1/enroll", s.handleEnrollView, b.Enrollment != nil},
		{"POST", "/v1/enroll", s.handleEnrollAction, b.Enrollment != nil},
		{"GET", "/v1/enroll/watch", s.handleEnrollWatch, b.Enrollment != nil},
		{"POST", "/v1/quit", s.handleQuit, b.Quit != nil},
		{"GET", "/v1/diagnostics", s.handleDiagnostics, b.Support != nil},
		{"GET", "/v1/settings", s.handleSettings, b.State != nil},
		{"PUT", "/v1/settings", s.handleSetSetting, b.Settings != nil},
		{"POST", "/v1/support/report", s.handleSendReport, b.Support != nil},
	}
	allowed := map[string]string{}
	for _, r := range routes {
		if !r.served {
			r.h = notServed
		}
		mux.HandleFunc(r.method+" "+r.path, r.h)
		if m := allowed[r.path]; m != "" {
			allowed[r.path] = m + ", " + r.method
		} else {
			allowed[r.path] = r.method
		}
	}
	// Our own catch-all, so that every failure has the JSON error shape.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := allowed[r.URL.Path]; ok {
			w.Header().Set("Allow", m)
			writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: fmt.Sprintf("%s needs %s, not %s", r.URL.Path, m, r.Method)})
			return
		}
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

// notServed answers a route whose part the backend lacks.
func notServed(w http.ResponseWriter, r *http.Request) {
	writeError(w, &Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: fmt.Sprintf("this agent does not serve %s", r.URL.Path)})
}

func (s *Server) checkPeer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uid, ok := r.Context().Value(ctxKey{}).(int)
		if !ok || uid != s.allowedUID {
			s.log.Warn("local API refused a caller", "uid", uid)
			writeError(w, &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("uid %d may not use this agent (it belongs to uid %d)", uid, s.allowedUID)})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.b.State.Snapshot())
}

// handleWatch streams state as newline-delimited JSON events. With
// ?window=NAME the caller holds that window for as long as the stream
// lasts (the backend's claim decides who may; a refusal is a 409).
func (s *Server) handleWatch(w http.ResponseWriter, r *http.Request) {
	window := r.URL.Query().Get("window")
	var control <-chan string
	if window != "" {
		if !ValidWindow(window) {
			writeError(w, &Error{Status: http.StatusBadRequest, Code: "bad_window", Message: fmt.Sprintf("unknown window %q", window)})
			return
		}
		if s.b.Windows == nil {
			notServed(w, r)
			return
		}
		var release func()
		var err error
		control, release, err = s.b.Windows.ClaimWindow(window)
		if err != nil {
			s.reply(w, err) // a conflict: the holder was raised instead
			return
		}
		defer release()
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "streaming unsupported"})
		return
	}
	updates, cancel := s.b.State.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for {
		var ev Event
		select {
		case <-r.Context().Done():
			return
		case snap := <-updates:
			ev = Event{Type: EventState, State: &snap}
		case typ := <-control:
			ev = Event{Type: typ}
		}
		if err := enc.Encode(ev); err != nil {
			return
		}
		flusher.Flush()
		if ev.Type == EventClose {
			return
		}
	}
}

func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	var req StartRequest
	if !readJSON(w, r, &req) {
		return
	}
	s.reply(w, s.b.Session.StartSession(r.Context(), req.Code))
}

func (s *Server) handleEnd(w http.ResponseWriter, r *http.Request) {
	s.reply(w, s.b.Session.EndSession(r.Context()))
}

func (s *Server) handleOpenWindow(w http.ResponseWriter, r *http.Request) {
	var req OpenWindowRequest
	if !readJSON(w, r, &req) {
		return
	}
	if !ValidWindow(req.Window) {
		writeError(w, &Error{Status: http.StatusBadRequest, Code: "bad_window", Message: fmt.Sprintf("unknown window %q", req.Window)})
		return
	}
	s.reply(w, s.b.Windows.OpenWindow(req.Window))
}

func (s *Server) handleAnnouncements(w http.ResponseWriter, r *http.Request) {
	items, err := s.b.Announcements.Announcements(r.Context())
	if err != nil {
		s.reply(w, err)
		return
	}
	if items == nil {
		items = []announce.Item{}
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *Server) handleMarkRead(w http.ResponseWriter, r *http.Request) {
	var req MarkReadRequest
	if !readJSON(w, r, &req) {
		return
	}
	s.reply(w, s.b.Announcements.MarkRead(r.Context(), req))
}

func (s *Server) handleEnrollView(w http.ResponseWriter, r *http.Request) {
	v, err := s.b.Enrollment.Enroll(r.Context(), EnrollAction{})
	if err != nil {
		s.reply(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleEnrollAction(w http.ResponseWriter, r *http.Request) {
	var act EnrollAction
	if !readJSON(w, r, &act) {
		return
	}
	if !wire.ValidEnrollAction(act.Action) {
		writeError(w, &Error{Status: http.StatusBadRequest, Code: "bad_action", Message: fmt.Sprintf("unknown wizard action %q", act.Action)})
		return
	}
	v, err := s.b.Enrollment.Enroll(r.Context(), act)
	if err != nil {
		s.reply(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// handleEnrollWatch streams the wizard's views as newline-delimited JSON.
func (s *Server) handleEnrollWatch(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "streaming unsupported"})
		return
	}
	views, cancel := s.b.Enrollment.SubscribeEnroll()
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case v := <-views:
			if err := enc.Encode(v); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

func (s *Server) handleSafeMode(w http.ResponseWriter, r *http.Request) {
	var req SafeModeRequest
	if !readJSON(w, r, &req) {
		return
	}
	s.reply(w, s.b.Support.SetSafeMode(r.Context(), req.On))
}

func (s *Server) handleOpenDesktop(w http.ResponseWriter, r *http.Request) {
	var req OpenDesktopRequest
	if !readJSON(w, r, &req) {
		return
	}
	opened, err := s.b.Desktops.OpenDesktop(r.Context(), req.Name)
	if err != nil {
		s.reply(w, err)
		return
	}
	writeJSON(w, http.StatusOK, opened)
}

func (s *Server) handleSettings(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.b.State.Snapshot().Settings)
}

func (s *Server) handleSetSetting(w http.ResponseWriter, r *http.Request) {
	var req SettingRequest
	if !readJSON(w, r, &req) {
		return
	}
	s.reply(w, s.b.Settings.SetSetting(r.Context(), req.Key, req.Value))
}

func (s *Server) handleChooseUpdate(w http.ResponseWriter, r *http.Request) {
	var req UpdateChoiceRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Choice != UpdateNow && req.Choice != UpdateAtSessionEnd {
		writeError(w, &Error{Status: http.StatusBadRequest, Code: "bad_choice", Message: fmt.Sprintf("choice %q is neither %q nor %q", req.Choice, UpdateNow, UpdateAtSessionEnd)})
		return
	}
	s.reply(w, s.b.Updates.ChooseUpdate(r.Context(), req.Choice))
}

func (s *Server) handleCheckUpdate(w http.ResponseWriter, r *http.Request) {
	s.reply(w, s.b.Updates.CheckUpdate(r.Context()))
}

// handleDiagnostics streams the bundle. It is built in memory first so a
// failure still gets a proper error status instead of a truncated zip.
func (s *Server) handleDiagnostics(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := s.b.Support.Diagnostics(r.Context(), &buf); err != nil {
		s.reply(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = buf.WriteTo(w)
}

func (s *Server) handleSendReport(w http.ResponseWriter, r *http.Request) {
	at, err := s.b.Support.SendReport(r.Context())
	if err != nil {
		s.reply(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ReportResult{SentAt: at})
}

func (s *Server) handleQuit(w http.ResponseWriter, _ *http.Request) {
	s.reply(w, nil)
	// Quit after the reply is on its way, so the caller sees success.
	go s.b.Quit()
}

func (s *Server) reply(w http.ResponseWriter, err error) {
	if err != nil {
		e := AsError(err)
		if e.Status == http.StatusInternalServerError {
			s.log.Error("local API action failed", "err", err)
		}
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// readJSON decodes a small JSON body strictly; on failure it has already
// answered with a 400 that says what is wrong.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := fmt.Sprintf("malformed JSON body: %v", err)
		if errors.Is(err, io.EOF) {
			msg = "empty body: expected a JSON object"
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			msg = fmt.Sprintf("body larger than %d bytes", maxBody)
		}
		writeError(w, &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: msg})
		return false
	}
	// Only white space may follow. dec.More alone let a stray "}" or "]"
	// through (found by FuzzRequestDecoders).
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		msg := "malformed JSON body: trailing data after the object"
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			msg = fmt.Sprintf("body larger than %d bytes", maxBody)
		}
		writeError(w, &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: msg})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, errorBody{Error: e})
}
