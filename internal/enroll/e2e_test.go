package enroll_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"image/png"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/keyring/keyringtest"
	"github.com/dienstweg/dienstweg/internal/logging"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// scanQR reads the QR code image the way a phone does.
func scanQR(tb testing.TB, pngData []byte) string {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		tb.Fatalf("png.Decode: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		tb.Fatalf("NewBinaryBitmapFromImage: %v", err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		tb.Fatalf("decoding the QR code: %v", err)
	}
	return res.GetText()
}

// appDirs points XDG_* at fresh directories, as the program would use.
func appDirs(t *testing.T) (state string, all []string) {
	t.Helper()
	base := t.TempDir()
	for _, v := range []string{"XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"} {
		d := filepath.Join(base, strings.ToLower(v))
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Setenv(v, d)
		all = append(all, d)
	}
	state, err := logging.StateDir()
	if err != nil {
		t.Fatalf("StateDir: %v", err)
	}
	return state, all
}

// forms are the encodings a leaked secret could take in a file.
func forms(name, s string) map[string]string {
	out := map[string]string{
		name + " raw":    s,
		name + " hex":    hex.EncodeToString([]byte(s)),
		name + " base64": base64.StdEncoding.EncodeToString([]byte(s)),
		name + " base32": base32.StdEncoding.EncodeToString([]byte(s)),
	}
	// Secrets that are encodings themselves: their bytes in every form.
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) >= 16 {
		out[name+" bytes"] = string(b)
		out[name+" bytes hex"] = hex.EncodeToString(b)
		out[name+" bytes base32"] = strings.TrimRight(base32.StdEncoding.EncodeToString(b), "=")
		out[name+" bytes base64url"] = base64.RawURLEncoding.EncodeToString(b)
	}
	if b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s); err == nil && len(b) >= 10 {
		out[name+" bytes"] = string(b)
		out[name+" bytes hex"] = hex.EncodeToString(b)
		out[name+" bytes base64"] = base64.StdEncoding.EncodeToString(b)
		out[name+" lower"] = strings.ToLower(s)
		out[name+" grouped"] = groupsOfFour(s)
	}
	return out
}

func scanFiles(t *testing.T, dirs []string, secrets map[string]string) (files int) {
	t.Helper()
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for what, s := range secrets {
				if s != "" && bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(s))) {
					t.Errorf("%s found in %s", what, path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", d, err)
		}
	}
	return files
}

// TestEndToEnd drives the wizard against the real portal and the real
// Secret Service, reading the QR code like a phone and computing codes
// with the test's own RFC 6238.
func TestEndToEnd(t *testing.T) {
	keyringtest.Private(t)
	stateDir, dirs := appDirs(t)
	logFile, err := os.OpenFile(filepath.Join(stateDir+"-log.txt"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	dirs = append(dirs, logFile.Name())
	logger := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))

	w := newWorld(t)
	w.ks = &keyring.System{Timeout: 30 * time.Second}
	w.dir = stateDir
	ctx := context.Background()
	newMachine := func() *enroll.Machine {
		c := w.env.Client(t, func(c *portal.Config) { c.Retry.MaxAttempts = 1 })
		m, err := enroll.New(ctx, enroll.Config{Portal: c, Keyring: w.ks, StateDir: stateDir, Now: w.now, Logger: logger})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return m
	}
	m := newMachine()
	must(t)(m.Next(ctx))
	v := must(t)(m.SubmitSignIn(ctx, w.user, w.code))
	wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
	v = must(t)(m.ToggleSecret())
	logger.Info("view", "view", v, "auth", v.Authenticator)

	qr, err := enroll.QRPNG(v.Authenticator.URI.Reveal(), 512)
	if err != nil {
		t.Fatalf("QRPNG: %v", err)
	}
	uri := scanQR(t, qr)
	if uri != v.Authenticator.URI.Reveal() {
		t.Fatalf("QR code says %q, want the view's URI", uri)
	}
	secret := secretOfURI(t, uri)
	if !strings.Contains(uri, "issuer=Stadt") || !strings.Contains(uri, w.user) {
		t.Fatalf("URI %q lacks issuer or account", uri)
	}
	if got := strings.ReplaceAll(v.Authenticator.ManualKey.Reveal(), " ", ""); got != secret {
		t.Fatalf("manual key %q differs from the QR code's %q", got, secret)
	}

	must(t)(m.Next(ctx))
	v = must(t)(m.SubmitCode(ctx, authcodetest.Code(t, secret, w.env.Clock.Now())))
	wantStep(t, v, enroll.StepDevice, enroll.PageStep)
	// Quit here and start again: the wizard resumes at the device step.
	m = newMachine()
	wantStep(t, m.View(), enroll.StepDevice, enroll.PageStep)
	v = must(t)(m.Next(ctx))
	wantStep(t, v, enroll.StepTest, enroll.PageStep)
	if !v.Checks[0].OK || !v.Checks[1].OK {
		t.Fatalf("connection test: %+v %v", v.Checks, v.Error)
	}
	v = must(t)(m.Next(ctx))
	wantStep(t, v, enroll.StepDone, enroll.PageStep)

	// The secrets are in the Secret Service, readable by service and
	// account from outside the program.
	priv, ok := keyringtest.Lookup(t, keyring.Service, keyring.AccountWireGuardKey)
	if !ok {
		t.Fatal("private key not in the Secret Service")
	}
	cred, ok := keyringtest.Lookup(t, keyring.Service, keyring.AccountDeviceCredential)
	if !ok {
		t.Fatal("credential not in the Secret Service")
	}
	for _, a := range []string{keyring.AccountPendingEnrollment, keyring.AccountPendingWireGuardKey, keyring.AccountPendingDeviceCredential} {
		if _, ok := keyringtest.Lookup(t, keyring.Service, a); ok {
			t.Errorf("%s left in the keyring", a)
		}
	}
	dev, err := enroll.LoadDevice(ctx, w.ks)
	if err != nil {
		t.Fatalf("LoadDevice: %v", err)
	}
	if dev.PrivateKey.Reveal() != priv || dev.Credential.Reveal() != cred {
		t.Fatal("LoadDevice differs from the Secret Service")
	}
	w.checkDeviceMatchesPortal(t, dev)

	// No file the program wrote holds a secret in any usual encoding.
	logFile.Sync()
	secrets := map[string]string{"otpauth uri": uri, "activation code": w.code}
	for _, f := range []map[string]string{forms("totp secret", secret), forms("private key", priv), forms("credential", cred)} {
		for k, v := range f {
			secrets[k] = v
		}
	}
	if n := scanFiles(t, dirs, secrets); n < 2 {
		t.Fatalf("scanned %d files; the progress file and log should be there", n)
	}
	if b, _ := os.ReadFile(logFile.Name()); !bytes.Contains(b, []byte(`"step":"authenticator"`)) {
		t.Fatalf("the scanned log lacks the wizard's lines: %s", b)
	}
	b, _ := os.ReadFile(filepath.Join(stateDir, enroll.ProgressFile))
	if !strings.Contains(string(b), `"step": "done"`) {
		t.Fatalf("progress file: %s", b)
	}
}

// TestKeyringUnavailable runs the device step with no Secret Service on
// the bus, then starts one and retries.
func TestKeyringUnavailable(t *testing.T) {
	keyringtest.NoSecretService(t)
	stateDir, dirs := appDirs(t)
	mem := keyring.NewMem()
	w := newWorld(t, withKeyring(mem))
	w.dir = stateDir
	ctx := context.Background()
	// Sign in and confirm with a working keyring, then lose it: the
	// system keyring on a bus without a Secret Service.
	w.toDevice(t, w.machine(t))
	id, err := mem.Get(ctx, keyring.AccountPendingEnrollment)
	if err != nil {
		t.Fatal(err)
	}
	w.ks = &keyring.System{Timeout: 30 * time.Second}
	m := w.machine(t)
	v := m.View()
	wantStep(t, v, enroll.StepDevice, enroll.PageKeyring)
	wantMsg(t, "error", v.Error, "enroll.keyring.unavailable")
	if !v.CanRetry || v.Title != "enroll.page.keyring.title" {
		t.Fatalf("keyring page %+v", v)
	}
	v = must(t)(m.Retry(ctx))
	wantStep(t, v, enroll.StepDevice, enroll.PageKeyring)

	// The keyring comes up (the user logged in again); it has the
	// enrollment id, as the earlier keyring had.
	keyringtest.Start(t)
	if err := w.ks.Set(ctx, keyring.AccountPendingEnrollment, id); err != nil {
		t.Fatalf("Set: %v", err)
	}
	v = must(t)(m.Retry(ctx))
	wantStep(t, v, enroll.StepDevice, enroll.PageStep)
	v = must(t)(m.Next(ctx))
	wantStep(t, v, enroll.StepTest, enroll.PageStep)
	// Nothing fell back to a file.
	scanFiles(t, dirs, map[string]string{"enrollment id": id})
}
