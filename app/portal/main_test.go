package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/store"
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

	manifest := filepath.Join(t.TempDir(), "manifest.json")
	os.WriteFile(manifest, []byte(`{"version":"1.0.0"}`), 0o644)
	os.WriteFile(manifest+".minisig", []byte("sig"), 0o644)
	bin := filepath.Join(t.TempDir(), "dienstweg-linux-amd64")
	os.WriteFile(bin, []byte("binary"), 0o755)
	runOK(t, "release", "publish", "--data", data, "--channel", "stable", "--manifest", manifest, bin)

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
	if err != nil || string(rel.Manifest) != `{"version":"1.0.0"}` || string(rel.Signature) != "sig" {
		t.Errorf("release = %+v, %v", rel, err)
	}
	if b, err := os.ReadFile(filepath.Join(data, "releases", "stable", "dienstweg-linux-amd64")); err != nil || string(b) != "binary" {
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
