// Package console is the portal's web console for IT and the helpdesk:
// server-rendered pages (html/template, no script) under /console/ on the
// portal's TLS. Console accounts are separate from employees and sign in
// with a password and an authenticator code; sessions live in the store so
// that several portal instances serve one browser. Every handler checks
// the role on the server, every POST carries a CSRF token, and everything
// the console changes is recorded in the audit log with the account as
// actor.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // times are shown in Europe/Berlin on any server

	"github.com/dienstweg/dienstweg/internal/org/letters"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// Prefix is where the console is served.
const Prefix = "/console/"

// maxFormBytes bounds a request body (a letters form for a few thousand
// users fits).
const maxFormBytes = 256 << 10

// Portal is what the console asks of the running portal server rather
// than of the store, because the server owns these rules (caches, the
// gateway's peer list, the lock factors). *portalsrv.Server is one.
// Implementations are safe for concurrent use.
type Portal interface {
	RevokeDeviceBy(ctx context.Context, deviceID, actor string) error
	EndLockout(ctx context.Context, user, actor string) error
	Locked(ctx context.Context, user string) (bool, error)
}

// Reports finds the state a device last sent with "An den IT-Service
// senden". It is an interface so the console does not depend on how
// reports are stored. Implementations are safe for concurrent use.
type Reports interface {
	// ReportBySupportCode returns the newest report of the device with
	// this support code; ErrNoReport if there is none.
	ReportBySupportCode(ctx context.Context, code string) (Report, error)
}

// ErrNoReport: the device has sent no report (or the code is unknown).
var ErrNoReport = errors.New("no report")

// Report is a device's last reported state, as the helpdesk sees it.
type Report struct {
	SupportCode string
	// User and DeviceID tie the report to the portal's records; empty
	// if unknown.
	User       string
	DeviceID   string
	DeviceName string
	Version    string
	// Screen is the step code the client showed last (E1–E6, C1, S1, …).
	Screen string
	// Session is the connection state as the employee saw it; OS and
	// TunnelMode ("system": every program, "userspace": proxy only)
	// say what runs.
	Session    string
	OS         string
	TunnelMode string
	Health     []HealthCheck
	Errors     []string
	SentAt     time.Time
}

// HealthCheck is one link of the health chain.
type HealthCheck struct {
	Name   string
	OK     bool
	Detail string
}

// Config is what the console needs. Zero optional fields take defaults.
type Config struct {
	Store  store.Store
	Portal Portal
	// Reports nil means no device has sent a report yet.
	Reports Reports
	// Sender is printed on activation letters.
	Sender letters.Sender
	// ActivationTTL is how long codes issued by the console are valid.
	ActivationTTL time.Duration
	// Channels are the release channels the releases page shows.
	// Default stable, beta.
	Channels []string
	// SessionTTL is how long a sign-in lasts. Default 8h.
	SessionTTL time.Duration
	// SignInBurst wrong sign-ins per account (and 4× per source address)
	// in a row; after that one more every SignInEvery. Defaults 5, 1 min.
	SignInBurst int
	SignInEvery time.Duration
	// Now nil means time.Now; Logger nil means slog.Default().
	Now    func() time.Time
	Logger *slog.Logger
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Console is the web console. It is safe for concurrent use.
type Console struct {
	cfg   Config
	st    store.Store
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New returns the console; serve it under Prefix.
func New(cfg Config) (*Console, error) {
	if cfg.Store == nil || cfg.Portal == nil {
		return nil, errors.New("console needs a store and the portal")
	}
	// Checked now: a letter that fails after its code was issued leaves
	// the employee without a valid code.
	if cfg.Sender.Organisation == "" {
		return nil, errors.New("console needs the organisation's name for activation letters")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.SignInBurst == 0 {
		cfg.SignInBurst = 5
	}
	if cfg.SignInEvery == 0 {
		cfg.SignInEvery = time.Minute
	}
	if len(cfg.Channels) == 0 {
		cfg.Channels = []string{"stable", "beta"}
	}
	if cfg.ActivationTTL == 0 {
		cfg.ActivationTTL = 14 * 24 * time.Hour
	}
	c := &Console{cfg: cfg, st: cfg.Store, log: cfg.Logger.With("component", "console"), pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", n, err)
		}
		c.pages[n[len("templates/"):len(n)-len(".html")]] = t
	}
	c.routes()
	return c, nil
}

// ServeHTTP sets the security headers of every answer and routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No script at all; styles only from our own file; forms only to us;
	// never inside a frame.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	// Forms are small; the largest is an announcement.
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	c.mux.ServeHTTP(w, r)
}

var funcs = template.FuncMap{
	"when": when,
	"join": func(gs []string) string {
		if len(gs) == 0 {
			return "–"
		}
		return strings.Join(gs, ", ")
	},
	"role": func(r string) string {
		if r == store.RoleIT {
			return "IT"
		}
		return "Helpdesk"
	},
}

// when is how the console shows a moment: "05.01.2026 09:14", "–" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(berlin).Format("02.01.2006 15:04")
}

// berlin is how times are shown; German cities' clerks read local time.
var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return l
}()
