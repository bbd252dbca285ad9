package agent

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/cli"
	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/keyring/keyringtest"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// notWaitingForKeyring bounds what must not wait for the keyring. Before,
// a locked keyring kept the API silent for 243 s after the start (two
// 120 s reads between Listen and Serve), and `up` without a Secret
// Service took 25–30 s (D-Bus's 25 s). The bound tells such a wait from
// an answer (milliseconds, seconds under load) and is shorter than any of
// those waits and than the agent's own keyringReadTimeout; it is not a
// speed target. (It was 5 s, which a loaded machine could reach.)
const notWaitingForKeyring = keyringReadTimeout / 2

// storeDevice puts an enrolled device's keys into the keyring.
func storeDevice(tb testing.TB, ks keyring.Store) {
	tb.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := ks.Set(ctx, keyring.AccountWireGuardKey, base64.StdEncoding.EncodeToString(key)); err != nil {
		tb.Fatalf("storing the key: %v", err)
	}
	if err := ks.Set(ctx, keyring.AccountDeviceCredential, "dev-credential-"+base64.RawURLEncoding.EncodeToString(key[:8])); err != nil {
		tb.Fatalf("storing the credential: %v", err)
	}
}

// waitKeyring waits for the keyring state the agent publishes, as long as
// ctx lasts: a change the agent notices by its 2 s recheck may take a
// while on a loaded machine.
func waitKeyring(tb testing.TB, ctx context.Context, c *localapi.Client, want string) state.Snapshot {
	tb.Helper()
	var last state.Snapshot
	for {
		s, err := c.Status(ctx)
		if err == nil && s.Keyring.State == want {
			return s
		}
		last = s
		select {
		case <-ctx.Done():
			tb.Fatalf("keyring state never became %q; last %+v", want, last.Keyring)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitWizardLeavesKeyringPage waits for the wizard to continue by itself
// once the keyring is usable, as after a click on "Try again", as long as
// ctx lasts.
func waitWizardLeavesKeyringPage(tb testing.TB, ctx context.Context, c *localapi.Client) {
	tb.Helper()
	for {
		v, err := c.EnrollView(ctx)
		if err == nil && v.Page == enroll.PageStep {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("the wizard stayed on its keyring page once the keyring was usable: %s, %v", v.Page, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// upQuickly runs `dienstweg up` and wants it to fail at once with text.
func upQuickly(tb testing.TB, ctx context.Context, c *localapi.Client, text string) {
	tb.Helper()
	var out bytes.Buffer
	start := time.Now()
	rc := cli.Up(ctx, c, "123456", strings.NewReader(""), cli.Options{Lang: "de", Out: &out, Err: &out})
	if took := time.Since(start); rc != cli.ExitError || !strings.Contains(out.String(), text) || took > notWaitingForKeyring {
		tb.Fatalf("up = exit %d after %v: %q; want exit %d without waiting for the keyring (within %v) saying %q", rc, took.Round(time.Millisecond), out.String(), cli.ExitError, notWaitingForKeyring, text)
	}
}

// bundleText fetches the diagnostics bundle, which must not wait for the
// keyring either, and returns all its files' text.
func bundleText(tb testing.TB, ctx context.Context, c *localapi.Client) string {
	tb.Helper()
	var buf bytes.Buffer
	start := time.Now()
	if err := c.Diagnostics(ctx, &buf); err != nil || time.Since(start) > notWaitingForKeyring {
		tb.Fatalf("Diagnostics: %v after %v", err, time.Since(start))
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		tb.Fatalf("not a zip: %v", err)
	}
	var all strings.Builder
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		all.Write(b)
	}
	return all.String()
}

// A locked keyring — with a real unlock prompter on the screen that
// nobody answers — does not hold up the agent: the API answers at once,
// the state and `up` ask to unlock the keyring, and once it is unlocked
// the agent continues without a restart. Stopping the agent while it
// waits for the prompt, with the tray running, neither panics nor hangs
// nor takes the keyring daemon down.
func TestLockedKeyringDoesNotHoldUpTheAgent(t *testing.T) {
	d := keyringtest.PrivateWithPrompter(t)
	dbustest.StartWatcher(t) // the tray runs, on the same bus
	ks := &keyring.System{}
	storeDevice(t, ks)
	d.Lock(t)
	_, prof := testProfile(t)
	socket := socketPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, Tray: true, UIExe: uiBinary, StateDir: t.TempDir(), CacheDir: t.TempDir()},
		Deps:         Deps{Keyring: ks},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- a.Run(runCtx) }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			stop()
			<-done
		}
	})
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	if took := time.Since(start); took > notWaitingForKeyring {
		t.Fatalf("the API answered %v after the start", took.Round(time.Millisecond))
	}
	s := waitKeyring(t, ctx, c, state.KeyringLocked)
	if s.Keyring.Message == nil || s.Keyring.Message.Key != "keyring.locked" {
		t.Errorf("locked keyring message = %+v", s.Keyring.Message)
	}
	var out bytes.Buffer
	if rc := cli.Status(ctx, c, cli.Options{Lang: "de", Out: &out, Err: &out}); rc != cli.ExitOK || !strings.Contains(out.String(), "Passwortspeicher ist gesperrt") {
		t.Errorf("status = exit %d: %q", rc, out.String())
	}
	upQuickly(t, ctx, c, "Passwortspeicher ist gesperrt")
	if text := bundleText(t, ctx, c); !strings.Contains(text, "secret service: locked") {
		t.Errorf("the diagnostics bundle does not say the keyring is locked")
	}
	if v, err := c.EnrollView(ctx); err != nil || v.Page != enroll.PageKeyring {
		t.Errorf("wizard while locked: page %s, %v", v.Page, err)
	}

	// The person types the password (here: elsewhere, as the prompt
	// cannot be typed into by a test); no restart.
	d.Unlock(t)
	waitKeyring(t, ctx, c, state.KeyringOK)
	waitWizardLeavesKeyringPage(t, ctx, c)

	// Locked again, and `up` asks for the unlock prompt, which stays open
	// (nobody answers it) while the agent stops.
	d.Lock(t)
	upQuickly(t, ctx, c, "Passwortspeicher ist gesperrt")
	waitKeyring(t, ctx, c, state.KeyringLocked)
	time.Sleep(500 * time.Millisecond) // the prompt is up
	stop()
	stopped = true
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(time.Minute): // only a hang takes this long
		t.Fatal("the agent did not stop while an unlock prompt was open")
	}
	if !d.Locked(t) {
		t.Error("the keyring unlocked itself")
	}
}

// Without a Secret Service the agent says so at once, in its own words
// (not the generic "could not be read, sign out and in"), and continues
// once one runs.
func TestNoSecretServiceIsToldAtOnce(t *testing.T) {
	keyringtest.NoSecretService(t)
	_, prof := testProfile(t)
	socket := socketPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, UIExe: uiBinary, StateDir: t.TempDir(), CacheDir: t.TempDir()},
		Deps:         Deps{Keyring: &keyring.System{}},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	start := time.Now()
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	s := waitKeyring(t, ctx, c, state.KeyringUnavailable)
	if took := time.Since(start); took > notWaitingForKeyring {
		t.Errorf("told %v after the start", took)
	}
	if s.Keyring.Message == nil || s.Keyring.Message.Key != "keyring.unavailable" {
		t.Errorf("message = %+v", s.Keyring.Message)
	}
	upQuickly(t, ctx, c, "kein Schlüsselbund")

	keyringtest.Start(t)
	waitKeyring(t, ctx, c, state.KeyringOK)
	waitWizardLeavesKeyringPage(t, ctx, c)
}
