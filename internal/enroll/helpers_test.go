package enroll_test

import (
	"context"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// secretOfURI reads the secret parameter of an otpauth:// URI.
func secretOfURI(tb testing.TB, uri string) string {
	tb.Helper()
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" {
		tb.Fatalf("not an otpauth uri: %v", err)
	}
	return u.Query().Get("secret")
}

// world is one test's portal, keyring and state directory.
type world struct {
	env    *portaltest.Env
	client *portal.Client
	ks     keyring.Store
	dir    string
	now    func() time.Time
	user   string
	code   string // activation code
	tb     testing.TB
	secret string // the last authenticator secret seen
	// config, if set, changes each machine's configuration.
	config func(*enroll.Config)
}

type worldOpt func(*world)

// withKeyring uses ks instead of a fresh in-memory keyring.
func withKeyring(ks keyring.Store) worldOpt { return func(w *world) { w.ks = ks } }

// withSkew makes the computer's clock differ from the portal's by d.
func withSkew(d time.Duration) worldOpt {
	return func(w *world) {
		w.now = func() time.Time { return w.env.Clock.Now().Add(d) }
	}
}

func newWorld(tb testing.TB, opts ...worldOpt) *world {
	tb.Helper()
	env := portaltest.Start(tb, portaltest.Options{})
	w := &world{env: env, ks: keyring.NewMem(), dir: tb.TempDir(), now: env.Clock.Now, user: "m.mustermann", tb: tb}
	w.code = env.AddUser(tb, w.user, "Maria Mustermann")
	for _, o := range opts {
		o(w)
	}
	w.client = env.Client(tb, func(c *portal.Config) { c.Retry.MaxAttempts = 1 })
	return w
}

// machine builds a wizard on the world's state, as the program does at
// start (also after a "kill": nothing of the old machine is reused).
func (w *world) machine(tb testing.TB) *enroll.Machine {
	tb.Helper()
	// A fresh client, as a restarted program has: no credential.
	c := w.env.Client(tb, func(c *portal.Config) { c.Retry.MaxAttempts = 1 })
	cfg := enroll.Config{
		Portal: c, Keyring: w.ks, StateDir: w.dir, DeviceName: "test-laptop",
		Now: w.now, Location: time.UTC, Logger: slog.New(slog.DiscardHandler),
	}
	if w.config != nil {
		w.config(&cfg)
	}
	m, err := enroll.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return m
}

// totp is the current code for the enrollment shown in v.
func (w *world) totp(tb testing.TB, secret string) string {
	tb.Helper()
	return authcodetest.Code(tb, secret, w.env.Clock.Now())
}

// nextStepCode moves the portal clock to the next TOTP step, so a new
// code is not a reused one.
func (w *world) nextStep() { w.env.Clock.Advance(authcode.Period) }

// must(t)(m.Action(…)) fails the test if the action returned an error.
func must(tb testing.TB) func(enroll.View, error) enroll.View {
	return func(v enroll.View, err error) enroll.View {
		tb.Helper()
		if err != nil {
			tb.Fatalf("action: %v (at %s/%s)", err, v.Step, v.Page)
		}
		return v
	}
}

func wantStep(tb testing.TB, v enroll.View, step enroll.Step, page enroll.Page) {
	tb.Helper()
	if v.Step != step || v.Page != page {
		tb.Fatalf("at %s/%s (error %v, notice %v), want %s/%s", v.Step, v.Page, v.Error, v.Notice, step, page)
	}
}

func wantMsg(tb testing.TB, what string, got *state.Message, key string, args ...string) {
	tb.Helper()
	if got == nil || got.Key != key {
		tb.Fatalf("%s = %v, want %s", what, got, key)
	}
	for i := 0; i+1 < len(args); i += 2 {
		if got.Args[args[i]] != args[i+1] {
			tb.Fatalf("%s args = %v, want %s=%s", what, got.Args, args[i], args[i+1])
		}
	}
}

// toAuthenticator signs in and returns the shown (revealed) secret.
func (w *world) toAuthenticator(tb testing.TB, m *enroll.Machine) (enroll.View, string) {
	tb.Helper()
	ctx := context.Background()
	v := m.View()
	if v.Step == enroll.StepWelcome {
		v = must(tb)(m.Next(ctx))
	}
	v = must(tb)(m.SubmitSignIn(ctx, w.user, w.code))
	wantStep(tb, v, enroll.StepAuthenticator, enroll.PageStep)
	v = must(tb)(m.ToggleSecret())
	w.secret = secretOfURI(tb, v.Authenticator.URI.Reveal())
	return v, w.secret
}

// toDevice goes through confirmation.
func (w *world) toDevice(tb testing.TB, m *enroll.Machine) {
	tb.Helper()
	ctx := context.Background()
	_, secret := w.toAuthenticator(tb, m)
	must(tb)(m.Next(ctx))
	v := must(tb)(m.SubmitCode(ctx, w.totp(tb, secret)))
	wantStep(tb, v, enroll.StepDevice, enroll.PageStep)
}
