package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/org/demo"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/redact"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/support"
)

// The employee presses "An den IT-Service senden" (through the local API,
// as the help window does) on a set-up laptop with a running session, and
// the report arrives at the real demo portal, found by the support code
// the employee reads out: health chain, version, recent errors and the
// screen shown before the help window. No secret of the keyring, the
// log or the errors reaches the portal's stored report or audit log.
// When the portal is down the window is told so, and a later press
// sends again.
func TestReportReachesHelpdesk(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	org, _ := startDemoOrg(t, ctx)
	target, err := url.Parse(org.PortalURL)
	if err != nil {
		t.Fatal(err)
	}
	relay := portaltest.StartRelay(t, target.Host)
	prof, err := demo.Profile("https://"+relay.Addr, org.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	prof.InternetTargets = []string{target.Host} // the internet stays when the relay stops

	ks := keyring.NewMem()
	stateDir := t.TempDir()
	secret := enrollDirectly(t, ctx, prof.PortalURL, prof.PortalCA, ks, stateDir, org.Users[0].Name, org.Users[0].ActivationCode)
	secrets := []string{secret, org.Users[0].ActivationCode}
	for _, v := range ks.Snapshot() {
		secrets = append(secrets, v) // the device credential and the tunnel's private key
	}
	// The log holds secrets too, as a careless line would write them.
	logPath := filepath.Join(t.TempDir(), "agent.log")
	if err := os.WriteFile(logPath, []byte("level=DEBUG msg=oops credential="+strings.Join(secrets, " ")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: stateDir, CacheDir: t.TempDir(), UIExe: uiBinary, LogPath: logPath},
		Deps:         Deps{Keyring: ks},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartSession(ctx, code); err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	waitSession(t, ctx, c, state.Connected)
	waitStatus(t, ctx, c, "every link green", allGreen)
	// Errors whose text carries secrets, by pattern and as registered.
	for _, s := range secrets {
		a.store.AddError(state.Message{Key: "action.failed", Args: map[string]string{"Error": "portal said: " + s}})
	}
	a.store.AddError(state.Message{Key: "action.failed", Args: map[string]string{"Error": "token=abc.def-123 private_key: " + secrets[len(secrets)-1]}})

	// The status window, then the help window, as the employee opens them.
	status := claimWindow(t, ctx, c, localapi.WindowStatus)
	claimWindow(t, ctx, c, localapi.WindowSupport)
	status()

	before := time.Now().Add(-time.Second)
	sentAt, err := c.SendReport(ctx)
	if err != nil {
		t.Fatalf("SendReport: %v", err)
	}
	if sentAt.Before(before) || sentAt.After(time.Now().Add(time.Second)) {
		t.Errorf("sent at %v, want about now", sentAt)
	}
	snap := a.Snapshot()
	// The helpdesk types the code as it hears it.
	heard := strings.ToLower(strings.ReplaceAll(snap.SupportCode, "-", " "))
	rep, err := org.Server.ReportBySupportCode(ctx, heard)
	if err != nil {
		t.Fatalf("ReportBySupportCode(%q): %v", heard, err)
	}
	if rep.User != org.Users[0].Name || rep.SupportCode != snap.SupportCode || rep.Version != snap.Version || rep.Session != "connected" ||
		rep.Screen != "S1" || rep.ScreenAt == nil || rep.TunnelMode != snap.Tunnel.Mode || rep.OS == "" {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Health) != len(snap.Health.Links) || len(rep.Health) == 0 || rep.Health[0].Name != "Heimnetz" || !rep.Health[0].OK {
		t.Errorf("health chain = %+v, want the %d links in German", rep.Health, len(snap.Health.Links))
	}
	if len(rep.Errors) != len(secrets)+1 || !strings.Contains(rep.Errors[0].Text, "token="+redact.Mask) {
		t.Errorf("errors = %+v", rep.Errors)
	}
	stored, err := org.Store.ReportBySupportCode(ctx, snap.SupportCode)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := org.Store.AuditEvents(ctx, 0, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	auditJSON, _ := json.Marshal(audit)
	for _, s := range secrets {
		for _, enc := range redact.Encodings([]byte(s)) {
			if bytes.Contains(stored.Body, []byte(enc)) {
				t.Errorf("the stored report holds a secret (%.6s…): %s", enc, stored.Body)
			}
			if bytes.Contains(auditJSON, []byte(enc)) {
				t.Errorf("the audit log holds a secret (%.6s…)", enc)
			}
		}
	}
	if !strings.Contains(string(auditJSON), portalsrv.AuditDeviceReport) {
		t.Errorf("no %s in the audit log", portalsrv.AuditDeviceReport)
	}

	// The portal goes away: the window is told, in plain words, what to
	// do instead; the report that did arrive stays.
	relay.Stop()
	_, err = c.SendReport(ctx)
	var apiErr *localapi.Error
	if !errors.As(err, &apiErr) || apiErr.Key != "support.report.portal_down" {
		t.Fatalf("SendReport with the portal down = %v, want support.report.portal_down", err)
	}
	if _, err := org.Server.ReportBySupportCode(ctx, snap.SupportCode); err != nil {
		t.Errorf("the earlier report is gone: %v", err)
	}
	relay.Start(t)
	again, err := c.SendReport(ctx)
	if err != nil {
		t.Fatalf("SendReport with the portal back: %v", err)
	}
	if rep, err := org.Server.ReportBySupportCode(ctx, snap.SupportCode); err != nil || !rep.ReceivedAt.Equal(again) {
		t.Errorf("after the portal came back: %v at %v, want the new report at %v", err, rep.ReceivedAt, again)
	}
}

// A computer that is not set up has no credential the portal knows: the
// button says so and to read out the support code instead, and nothing
// reaches the portal.
func TestReportNotSetUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	org, prof := startDemoOrg(t, ctx)
	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: t.TempDir(), CacheDir: t.TempDir(), UIExe: uiBinary},
		Deps:         Deps{Keyring: keyring.NewMem()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	_, err = c.SendReport(ctx)
	var apiErr *localapi.Error
	if !errors.As(err, &apiErr) || apiErr.Key != "support.report.not_set_up" {
		t.Fatalf("SendReport before setup = %v, want support.report.not_set_up", err)
	}
	if got := a.cat.T(apiErr.Key); !strings.Contains(got, "Support-Code vor") {
		t.Errorf("message %q does not say to read out the support code", got)
	}
	if _, err := org.Server.ReportBySupportCode(ctx, a.Snapshot().SupportCode); !errors.Is(err, portalsrv.ErrNoReport) {
		t.Errorf("a report arrived from a computer not set up: %v", err)
	}
}

// Another device reported this laptop's support code first (a copied
// machine id, or a device that sent it on purpose): the portal refuses
// the report, the laptop makes itself a new code, shows it, keeps it
// across restarts, and tells the employee in plain words to press again;
// the second press arrives under the new code, and the other device keeps
// the old one.
func TestReportCodeTakenGetsNewCode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	org, prof := startDemoOrg(t, ctx)
	ks := keyring.NewMem()
	stateDir := t.TempDir()
	enrollDirectly(t, ctx, prof.PortalURL, prof.PortalCA, ks, stateDir, org.Users[0].Name, org.Users[0].ActivationCode)
	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: stateDir, CacheDir: t.TempDir(), UIExe: uiBinary},
		Deps:         Deps{Keyring: ks},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	old := a.Snapshot().SupportCode
	if err := org.Store.PutReport(ctx, store.Report{DeviceID: "other-laptop", User: "someone", SupportCode: old, ReceivedAt: time.Now(), Body: []byte(`{"version":"0.9"}`)}); err != nil {
		t.Fatalf("PutReport of the other device: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	// The agent reads its setup from the keyring after the API is up;
	// before that a report is refused as "not set up" (CI saw it once).
	waitStatus(t, ctx, c, "set up", func(s state.Snapshot) bool { return s.Enrollment.Enrolled })

	_, err = c.SendReport(ctx)
	var apiErr *localapi.Error
	if !errors.As(err, &apiErr) || apiErr.Key != "support.report.code_renewed" {
		t.Fatalf("SendReport with a taken code = %v, want support.report.code_renewed", err)
	}
	renewed := a.Snapshot().SupportCode
	if renewed == old || apiErr.Args["Code"] != renewed {
		t.Fatalf("support code %s → %s, message names %q; want a new code, named", old, renewed, apiErr.Args["Code"])
	}
	if text := a.cat.T(apiErr.Key, apiErr.Args); !strings.Contains(text, renewed) || !strings.Contains(text, "noch einmal") {
		t.Errorf("message %q does not name the new code and ask to press again", text)
	}
	if kept, err := support.DeviceCode(stateDir); err != nil || kept != renewed {
		t.Errorf("code after a restart = %q, %v; want %q", kept, err, renewed)
	}
	if _, err := c.SendReport(ctx); err != nil {
		t.Fatalf("second press: %v", err)
	}
	if rep, err := org.Server.ReportBySupportCode(ctx, renewed); err != nil || rep.User != org.Users[0].Name {
		t.Errorf("report under the new code = %+v, %v; want %s's", rep, err, org.Users[0].Name)
	}
	if rep, err := org.Server.ReportBySupportCode(ctx, old); err != nil || rep.DeviceID != "other-laptop" {
		t.Errorf("the old code now shows %+v, %v; want the other device's report", rep, err)
	}
}

// claimWindow holds window as a ui process would, until the returned
// release (or the test's end).
func claimWindow(tb testing.TB, ctx context.Context, c *localapi.Client, window string) (release func()) {
	tb.Helper()
	wctx, cancel := context.WithCancel(ctx)
	tb.Cleanup(cancel)
	if _, err := c.Watch(wctx, window); err != nil {
		tb.Fatalf("Watch(%s): %v", window, err)
	}
	return cancel
}
