package agent

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/logging"
	"github.com/dienstweg/dienstweg/internal/redact"
)

// A bundle fetched over the local API holds the agent's log, state and
// profile, and none of the secrets that reached the log.
func TestDiagnosticsOverLocalAPI(t *testing.T) {
	_, prof := testProfile(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "dienstweg.log")
	lf, err := logging.OpenRotating(logPath, logging.DefaultMaxSize, logging.DefaultBackups)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	logger := logging.New(lf, -4)
	credential := "dwc_0123456789abcdefSECRETcredential"
	redact.Register(credential) // as the keyring code does when it reads one
	logger.Info("device ready", "credential", credential)
	logger.Info("oops", "msg2", "token: "+credential+" in text")
	logger.Info("session", "code", "123456", "uri", "otpauth://totp/X:anna?secret=JBSWY3DPEHPK3PXP")

	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: dir, LogPath: logPath, UIExe: uiBinary},
		Deps:         Deps{Logger: logger, Keyring: keyring.NewMem()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// The code in the log above is one the person typed: the agent
	// registers it as it arrives (no field named "code" is removed as such).
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// Refused (this computer is not set up), but the code is registered
	// as it arrives, before anything else looks at it.
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	_ = a.StartSession(sctx, "123456")
	scancel()

	// Wait for the API itself: under load it came up after the 2.5 s the
	// test used to retry Diagnostics for.
	c := localapi.NewClient(socket)
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	waitAPI(t, wctx, c)
	var buf bytes.Buffer
	if err := c.Diagnostics(wctx, &buf); err != nil {
		t.Fatalf("Diagnostics: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	var all strings.Builder
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		all.Write(b)
	}
	text := all.String()
	if !strings.Contains(strings.Join(names, ","), "logs/dienstweg.log") || !strings.Contains(text, "device ready") {
		t.Errorf("bundle lacks the log: files %v", names)
	}
	if !strings.Contains(text, a.Snapshot().SupportCode) || !strings.Contains(text, "Stadt Teststadt") {
		t.Error("bundle lacks the support code or the profile")
	}
	for _, secret := range []string{credential, "JBSWY3DPEHPK3PXP", "123456"} {
		for _, enc := range redact.Encodings([]byte(secret)) {
			if strings.Contains(text, enc) {
				t.Errorf("bundle contains %q as %q", secret, enc)
			}
		}
	}
}
