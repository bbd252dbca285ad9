//go:build linux

package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/org/demo"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// officeDay is the demo organisation, a computer set up there, an office
// host with a certificate of the demo's CA (switched on in the office),
// and a stand-in logind on the system bus, which the agent watches for
// the end of a sleep (logind itself cannot run in the test sandbox).
type officeDay struct {
	org     *demo.Org
	prof    *profile.Profile
	ks      keyring.Store
	dir     string
	secret  string
	office  *officeSwitch
	windows string // the file the stand-in ui writes each window it is asked for into
	emit    func(sleeping bool)
}

func newOfficeDay(t *testing.T, ctx context.Context) *officeDay {
	t.Helper()
	addr := dbustest.PrivateBus(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	logind, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connecting to the private bus: %v", err)
	}
	t.Cleanup(func() { logind.Close() })
	if reply, err := logind.RequestName("org.freedesktop.login1", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v, %v", reply, err)
	}

	demoDir := t.TempDir()
	org, err := demo.Start(ctx, demoDir)
	if err != nil {
		t.Fatalf("demo.Start: %v", err)
	}
	t.Cleanup(func() { org.Close() })
	prof, err := org.Profile()
	if err != nil {
		t.Fatalf("Profile: %v", err)
	}
	portalURL, err := url.Parse(org.PortalURL)
	if err != nil {
		t.Fatal(err)
	}
	prof.InternetTargets = []string{portalURL.Host}
	// The office host's certificate comes from the demo's own CA, as IT
	// would issue it: a copy of the CA, so the portal's certificate stays.
	caDir := t.TempDir()
	for _, f := range []string{"ca.pem", "ca-key.pem"} {
		b, err := os.ReadFile(filepath.Join(demoDir, "tls", f))
		if err != nil {
			t.Fatalf("the demo's CA: %v", err)
		}
		if err := os.WriteFile(filepath.Join(caDir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mat, err := portalsrv.LoadOrCreateTLS(caDir, []string{officeHost}, time.Now())
	if err != nil {
		t.Fatalf("office host certificate: %v", err)
	}
	d := &officeDay{org: org, prof: prof, ks: keyring.NewMem(), dir: t.TempDir(), office: startOfficeSwitch(t, mat.Config())}
	prof.OfficeCheck = &profile.OfficeCheck{Address: d.office.addr, ServerName: officeHost}
	d.secret = enrollDirectly(t, ctx, prof.PortalURL, prof.PortalCA, d.ks, d.dir, org.Users[0].Name, org.Users[0].ActivationCode)
	d.windows = filepath.Join(t.TempDir(), "windows")
	d.emit = func(sleeping bool) {
		if err := logind.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForSleep", sleeping); err != nil {
			t.Fatalf("Emit: %v", err)
		}
	}
	return d
}

// agent starts an agent as at login, with auto_start, whose windows are
// a script that notes which window it was asked for.
func (d *officeDay) agent(t *testing.T, ctx context.Context, log *slog.Logger) (*Agent, *localapi.Client) {
	t.Helper()
	ui := filepath.Join(t.TempDir(), "ui")
	script := fmt.Sprintf("#!/bin/sh\necho \"$1\" >> %q\n", d.windows)
	if err := os.WriteFile(ui, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: d.prof, Lang: "de", SocketPath: socket, StateDir: d.dir, CacheDir: t.TempDir(), UIExe: ui, AutoStart: true},
		Deps:         Deps{Keyring: d.ks, Logger: log},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	return a, c
}

func (d *officeDay) opened() []string {
	b, _ := os.ReadFile(d.windows)
	return strings.Fields(string(b))
}

// At login outside the office the agent asks for the code by itself,
// once; after a sleep it comes back without a second code.
func TestOfficeDayAtHome(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newOfficeDay(t, ctx)
	a, c := d.agent(t, ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))

	for len(d.opened()) == 0 {
		select {
		case <-ctx.Done():
			s, _ := c.Status(ctx)
			t.Fatalf("the code prompt never opened by itself; verdict %s, office %+v", s.Verdict.Situation, s.Office)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if got := d.opened(); len(got) != 1 || got[0] != localapi.WindowCode {
		t.Fatalf("windows opened at login: %v, want the code prompt once", got)
	}

	code, err := totp.GenerateCode(d.secret, time.Now().Add(30*time.Second)) // the wizard spent this step's
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartSession(ctx, code); err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	waitSession(t, ctx, c, state.Connected)
	before, err := a.engine.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	d.emit(true)
	resumed := time.Now()
	d.emit(false)
	waitStatus(t, ctx, c, "a fresh handshake after the wake, without a code", func(s state.Snapshot) bool {
		st, err := a.engine.Stats()
		return err == nil && st.LastHandshake.After(resumed) && s.Session == state.Connected
	})
	if after, _ := a.engine.Stats(); !after.LastHandshake.After(before.LastHandshake) {
		t.Errorf("handshake %v after the wake, %v before", after.LastHandshake, before.LastHandshake)
	}
	if got := d.opened(); len(got) != 1 {
		t.Errorf("windows opened: %v, want only the prompt at login", got)
	}
}

// logRecorder keeps the messages the agent logs.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	r.mu.Lock()
	r.msgs = append(r.msgs, b.String())
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) find(prefix string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if strings.HasPrefix(m, prefix) {
			return m, true
		}
	}
	return "", false
}

// At login in the office nothing asks for a code, and the tray's verdict
// says the laptop is in the office.
func TestOfficeDayInTheOffice(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newOfficeDay(t, ctx)
	d.office.in.Store(true)
	rec := &logRecorder{}
	_, c := d.agent(t, ctx, slog.New(rec))
	var decided string
	for {
		if m, ok := rec.find("automatic code prompt"); ok {
			decided = m
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the automatic code prompt never decided")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !strings.Contains(decided, "not needed") || !strings.Contains(decided, "situation="+situation.InOffice) {
		t.Errorf("decision %q, want not needed in the office", decided)
	}
	if got := d.opened(); len(got) != 0 {
		t.Errorf("windows opened in the office: %v", got)
	}
	if s, err := c.Status(ctx); err != nil || s.Verdict.Situation != situation.InOffice || s.Verdict.Start.Shown() {
		t.Errorf("verdict %s (start %q), %v; want in_office without a start", s.Verdict.Situation, s.Verdict.Start, err)
	}
}
