package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/localapi"
)

// Without a profile the agent serves only the explanation: the state says
// where the profile is missing, the status window opens at start, every
// action is refused with the same explanation, and a second agent hands
// over to the first.
func TestRunWithoutProfile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A stand-in for dienstweg-ui that records which windows it was asked for.
	dir := t.TempDir()
	launched := filepath.Join(dir, "launched")
	ui := filepath.Join(dir, "ui")
	if err := os.WriteFile(ui, []byte("#!/bin/sh\necho \"$*\" >>"+launched+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	socket := socketPath(t)
	const missing = "/nonexistent/dienstweg/profile.json"
	// The log tells when the first window's process has ended: until
	// then a second open is taken as that window still starting.
	var log lockedBuffer
	opts := Options{
		Config: Config{Lang: "en", SocketPath: socket, UIExe: ui},
		Deps:   Deps{Logger: slog.New(slog.NewTextHandler(&log, nil))},
	}
	done := make(chan error, 1)
	go func() { done <- RunWithoutProfile(ctx, missing, opts) }()
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)

	st, err := c.Status(ctx)
	if err != nil || st.ProfileMissing != missing || st.Session.Active(st.Running) {
		t.Fatalf("Status = %+v, %v; want the missing profile's path", st, err)
	}
	for name, call := range map[string]func() error{
		"StartSession": func() error { return c.StartSession(ctx, "123456") },
		"CheckUpdate":  func() error { return c.CheckUpdate(ctx) },
		"OpenWindow":   func() error { return c.OpenWindow(ctx, localapi.WindowWizard) },
	} {
		var e *localapi.Error
		if err := call(); !errors.As(err, &e) || e.Code != "no_profile" || e.Args["Path"] != missing {
			t.Errorf("%s = %v, want no_profile naming %s", name, err, missing)
		}
	}

	for !strings.Contains(log.String(), "window closed") {
		select {
		case <-ctx.Done():
			t.Fatalf("the first status window's process never ended:\n%s", log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	second := RunWithoutProfile(ctx, missing, opts)
	if !errors.Is(second, ErrHandedOver) {
		t.Errorf("second agent = %v, want ErrHandedOver", second)
	}
	for {
		// One status window at start, one for the second agent's hand-over:
		// the stand-in exits at once, so nothing holds the window.
		b, _ := os.ReadFile(launched)
		if windows := launchedWindows(string(b)); windows["status"] == 2 && len(windows) == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("windows started: %q; want the status window twice", b)
		case <-time.After(20 * time.Millisecond):
		}
	}

	if err := c.Quit(ctx); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("RunWithoutProfile after Quit = %v", err)
	}
}

// launchedWindows counts the windows named in the stand-in's argument lines.
func launchedWindows(lines string) map[string]int {
	n := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		for _, arg := range strings.Fields(line) {
			if localapi.ValidWindow(arg) {
				n[arg]++
			}
		}
	}
	return n
}

// lockedBuffer is a bytes.Buffer that the agent's log and the test may
// use at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
