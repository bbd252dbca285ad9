package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/desktop"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// "Arbeitsplatz öffnen" starts the client the agent chose, with the
// desktop's address, only while the verdict offers that desktop; it
// refuses an unknown one and one that does not answer, and a missing
// client is said with what to install.
func TestOpenDesktop(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "xfreerdp")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+args+".tmp && mv "+args+".tmp "+args+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	installed := map[string]string{"xfreerdp": fake}
	_, prof := testProfile(t)
	prof.OfficeDesktops = []profile.OfficeDesktop{{Name: "Arbeitsplatz Bürgerbüro", Kind: profile.DesktopRDP, Address: "rds.teststadt.example"}}
	a, err := New(Options{
		Config: Config{Profile: prof, Lang: "de", SocketPath: socketPath(t), UIExe: uiBinary, StateDir: t.TempDir(), CacheDir: t.TempDir()},
		Deps: Deps{Keyring: keyring.NewMem(), Notifier: newRecordingNotifier(), Session: newSwitchSession(),
			DesktopEnv: desktop.Env{GOOS: "linux", Getenv: func(string) string { return "" }, LookPath: func(name string) (string, error) {
				if p, ok := installed[name]; ok {
					return p, nil
				}
				return "", exec.ErrNotFound
			}}},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.Background()
	answers := func(ok bool) {
		a.store.Update(func(s *state.Snapshot) {
			s.Session = state.Connected
			s.Health.Links = []state.Link{{Code: health.Gateway, OK: true}, {Code: health.OfficeDesktop, Target: "Arbeitsplatz Bürgerbüro", OK: ok}}
		})
	}
	kind := func(err error) string {
		if p, ok := problem.As(err); ok {
			return p.Kind.String() + " " + p.Msg.Key
		}
		return "not a problem: " + err.Error()
	}

	answers(false)
	if _, err := a.OpenDesktop(ctx, "Arbeitsplatz Bürgerbüro"); err == nil || kind(err) != "conflict "+desktop.KeyNotAvailable {
		t.Fatalf("open while the desktop does not answer: %v", err)
	}
	if _, err := a.OpenDesktop(ctx, "Fachverfahren"); err == nil || kind(err) != "invalid "+desktop.KeyUnknown {
		t.Fatalf("open an unknown desktop: %v", err)
	}
	answers(true)
	opened, err := a.OpenDesktop(ctx, "Arbeitsplatz Bürgerbüro")
	if err != nil {
		t.Fatalf("OpenDesktop: %v", err)
	}
	if opened.Client != desktop.ClientXFreeRDP || opened.Message.Args["Client"] != "FreeRDP" {
		t.Errorf("answer %+v, want FreeRDP named", opened)
	}
	var got []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, err = os.ReadFile(args); err == nil {
			break
		}
	}
	if !strings.HasPrefix(string(got), "/v:rds.teststadt.example:3389\n/t:Arbeitsplatz Bürgerbüro\n/cert:tofu\n") {
		t.Errorf("the client got %q", got)
	}

	delete(installed, "xfreerdp")
	_, err = a.OpenDesktop(ctx, "Arbeitsplatz Bürgerbüro")
	if err == nil || kind(err) != "not_supported "+desktop.KeyNoClient {
		t.Fatalf("open without a client: %v", err)
	}
	if errs := a.store.Snapshot().RecentErrors; len(errs) == 0 || errs[len(errs)-1].Message.Key != desktop.KeyNoClient {
		t.Errorf("the support window's recent errors lack the missing client: %+v", errs)
	}
}
