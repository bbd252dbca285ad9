//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/update"
)

// restartableAgent runs an agent of the office day, with auto_start, that
// the test restarts as the self-update does.
type restartableAgent struct {
	a    *Agent
	c    *localapi.Client
	rec  *logRecorder
	done chan error
}

func (d *officeDay) startAgent(t *testing.T, ctx context.Context) *restartableAgent {
	t.Helper()
	ui := filepath.Join(t.TempDir(), "ui")
	script := fmt.Sprintf("#!/bin/sh\necho \"$1\" >> %q\n", d.windows)
	if err := os.WriteFile(ui, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: d.prof, Lang: "de", SocketPath: socket, StateDir: d.dir, CacheDir: t.TempDir(), UIExe: ui, AutoStart: true},
		Deps:         Deps{Keyring: d.ks, Logger: slog.New(rec)},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r := &restartableAgent{a: a, c: localapi.NewClient(socket), rec: rec, done: make(chan error, 1)}
	runCtx, stop := context.WithCancel(ctx)
	go func() { r.done <- a.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		<-r.done
	})
	waitAPI(t, ctx, r.c)
	return r
}

// quitForUpdate stops the agent the way the updater does after it
// installed a new version: it records the restart and quits.
func (r *restartableAgent) quitForUpdate(t *testing.T) {
	t.Helper()
	r.a.restartMu.Lock()
	r.a.restart = &update.Installed{Version: "9.9.9"}
	r.a.restartMu.Unlock()
	r.a.Quit()
	err := <-r.done
	if _, ok := AsRestartForUpdate(err); !ok {
		t.Fatalf("Run after the update's quit = %v, want the restart for the update", err)
	}
	r.done <- err // for the cleanup
}

// waitLog waits until the agent logged a message starting with prefix.
func (r *restartableAgent) waitLog(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	for {
		if m, ok := r.rec.find(prefix); ok {
			return m
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the agent never logged %q", prefix)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (d *officeDay) waitOpened(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	for len(d.opened()) < n {
		select {
		case <-ctx.Done():
			t.Fatalf("windows opened: %v, want %d code prompts", d.opened(), n)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if got := d.opened(); len(got) != n || strings.Join(got, " ") != strings.TrimSpace(strings.Repeat(localapi.WindowCode+" ", n)) {
		t.Fatalf("windows opened: %v, want %d code prompts", got, n)
	}
}

// The self-update restarts the agent. Before, each agent process asked
// for the code by itself once, so the person was asked again after every
// update. Now the prompt is once per login and day: a restart within the
// same day asks nothing, the next day asks again.
func TestAutoStartOncePerDayAcrossUpdateRestarts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newOfficeDay(t, ctx)

	first := d.startAgent(t, ctx)
	d.waitOpened(t, ctx, 1)
	first.waitLog(t, ctx, "automatic code prompt: asking for the code")
	first.quitForUpdate(t)

	second := d.startAgent(t, ctx)
	decided := second.waitLog(t, ctx, "automatic code prompt")
	if got := d.opened(); len(got) != 1 {
		t.Fatalf("windows opened after the update's restart: %v, want none more", got)
	}
	if !strings.HasPrefix(decided, "automatic code prompt: already decided") {
		t.Fatalf("after the update's restart the prompt decided %q, want: already decided today", decided)
	}
	second.quitForUpdate(t)

	// The next day: the mark names yesterday.
	path := filepath.Join(d.dir, loginMemoryFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the login's mark: %v", err)
	}
	var mark loginMark
	if err := json.Unmarshal(b, &mark); err != nil || !mark.Asked || mark.Day != time.Now().Format(time.DateOnly) {
		t.Fatalf("mark %s (%v), want today's, asked", b, err)
	}
	mark.Day = time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	b, _ = json.Marshal(mark)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d.startAgent(t, ctx)
	d.waitOpened(t, ctx, 2)
}

// A session that ran when the agent restarted for an update comes back
// in the new agent by itself, without a code and without the prompt,
// while the day's authorisation holds.
func TestSessionResumesAfterUpdateRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newOfficeDay(t, ctx)

	first := d.startAgent(t, ctx)
	d.waitOpened(t, ctx, 1)
	code, err := totp.GenerateCode(d.secret, time.Now().Add(30*time.Second)) // the wizard spent this step's
	if err != nil {
		t.Fatal(err)
	}
	if err := first.c.StartSession(ctx, code); err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	waitSession(t, ctx, first.c, state.Connected)
	first.quitForUpdate(t)

	second := d.startAgent(t, ctx)
	waitSession(t, ctx, second.c, state.Connected)
	if got := d.opened(); len(got) != 1 {
		t.Errorf("windows opened after the update's restart: %v, want none more", got)
	}
	if _, ok := second.rec.find("automatic code prompt"); ok {
		t.Error("the new agent ran the automatic prompt although it resumed the session")
	}
}
