package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/profile"
)

func runOK(tb testing.TB, args ...string) string {
	tb.Helper()
	var out bytes.Buffer
	if err := run(args, &out); err != nil {
		tb.Fatalf("run %q: %v\n%s", args, err, out.String())
	}
	return out.String()
}

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	out := runOK(t, "user", "add", "Anna.Schmidt", "--data", data, "--display-name", "Anna Schmidt", "--groups", "bauamt")
	if !regexp.MustCompile(`activation code: [A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}`).MatchString(out) {
		t.Errorf("user add printed %q", out)
	}
	if err := run([]string{"user", "add", "anna.schmidt", "--data", data}, &bytes.Buffer{}); err == nil {
		t.Errorf("adding an existing user succeeded")
	}
	if out := runOK(t, "user", "list", "--data", data); !strings.Contains(out, "anna.schmidt") || !strings.Contains(out, "bauamt") {
		t.Errorf("user list = %q", out)
	}
	runOK(t, "user", "code", "anna.schmidt", "--data", data)

	runOK(t, "announce", "post", "--data", data, "--id", "wartung", "--severity", "maintenance",
		"--title-de", "Wartung", "--title-en", "Maintenance", "--from", "2026-03-07 08:00", "--until", "2026-03-07 12:00", "--audience", "bauamt")
	if err := run([]string{"announce", "post", "--data", data, "--id", "bad", "--severity", "panic", "--title-de", "x", "--title-en", "y"}, &bytes.Buffer{}); err == nil {
		t.Errorf("invalid severity accepted")
	}
	runOK(t, "announce", "edit", "--data", data, "--id", "wartung", "--title-en", "Maintenance work")
	runOK(t, "announce", "expire", "--data", data, "--id", "wartung")

	pub, priv := newKey(t)
	writeKeys(t, data, pub)
	r := makeRelease(t, pub, priv, nil)
	runOK(t, "release", "publish", "--data", data, "--channel", "stable", "--manifest", r.manifest, r.bin)

	st, err := store.OpenSQLite(context.Background(), filepath.Join(data, "portal.db"))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	defer st.Close()
	a, err := st.Announcement(context.Background(), "wartung")
	if err != nil || a.TitleEN != "Maintenance work" || a.TitleDE != "Wartung" || a.Audience[0] != "bauamt" || !a.ValidUntil.Before(a.UpdatedAt.Add(1)) {
		t.Errorf("announcement = %+v, %v", a, err)
	}
	rel, err := st.Release(context.Background(), "stable")
	manifest, _ := os.ReadFile(r.manifest)
	sig, _ := os.ReadFile(r.manifest + ".minisig")
	if err != nil || !bytes.Equal(rel.Manifest, manifest) || !bytes.Equal(rel.Signature, sig) {
		t.Errorf("release = %+v, %v", rel, err)
	}
	if b, err := os.ReadFile(filepath.Join(data, "releases", "stable", filepath.Base(r.bin))); err != nil || string(b) != "binary 0.2.0" {
		t.Errorf("published file = %q, %v", b, err)
	}
}

func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	key := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="
	err := run([]string{"serve", "--data", t.TempDir(), "--dev-http", "--listen", "0.0.0.0:0",
		"--gateway-endpoint", "gw.example:51820", "--gateway-key", key}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("serve --dev-http on 0.0.0.0: %v, want refusal", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	if err := run([]string{"frobnicate"}, &bytes.Buffer{}); err == nil {
		t.Errorf("unknown command accepted")
	}
}

// `demo` writes a profile the client accepts, pointing at a portal that
// answers, with the demo sign-in; a stale profile from a killed run is
// replaced, and the profile is gone once the demo stops.
func TestDemoWritesProfileWhileRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "profile.json")
	if err := os.WriteFile(path, []byte(`{"organisation":"stale"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- runDemo(ctx, []string{"--dir", dir}, &out) }()

	var p *profile.Profile
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		if p, err = profile.Load(path); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo stopped before writing its profile: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no valid profile within 30 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if p.Demo == nil || p.Demo.User == "" || p.Demo.ActivationCode == "" {
		t.Errorf("profile has no demo sign-in: %+v", p.Demo)
	}
	c, err := portal.New(portal.ConfigFromProfile(p))
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	defer c.Close()
	if _, err := c.StartEnrollment(ctx, p.Demo.User, p.Demo.ActivationCode); err != nil {
		t.Errorf("the profile's sign-in at the profile's portal: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("demo after Ctrl-C: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("profile still there after the demo stopped: %v", err)
	}
}
