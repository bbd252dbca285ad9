package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the highest `systemd-analyze security` score accepted
// for the units (0 best, 10 worst; the helper's unit scores 2.7).
const maxExposure = 2.5

// The units parse cleanly (systemd-analyze verify prints nothing) and
// stay hardened (their exposure score). The binary named in ExecStart is
// replaced by this test binary, which exists, so verify checks the rest.
func TestSystemdUnits(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatalf("systemd-analyze is missing: install the Debian package systemd (scripts/deps.sh)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dienstweg-portal.service", "dienstweg-gateway.service"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			unit, err := os.ReadFile(filepath.Join("..", "..", "packaging", "systemd", name))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/bin/dienstweg-portal"), []byte(self)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
			}
			out, err = exec.Command("systemd-analyze", "security", "--offline=yes", path).CombinedOutput()
			if err != nil {
				t.Fatalf("systemd-analyze security %s: %v\n%s", name, err, out)
			}
			m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("no exposure level in:\n%s", out)
			}
			if score, _ := strconv.ParseFloat(string(m[1]), 64); score > maxExposure {
				t.Errorf("%s exposure %.1f, want at most %.1f:\n%s", name, score, maxExposure, out)
			}
		})
	}
}

// serve accepts the portal unit's command line: it gets as far as the
// listen address (made unusable here), past flag parsing and the store.
func TestPortalUnitCommandLine(t *testing.T) {
	t.Parallel()
	unit, err := os.ReadFile(filepath.Join("..", "..", "packaging", "systemd", "dienstweg-portal.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)ExecStart=(.*?[^\\])\n`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("no ExecStart in the portal unit")
	}
	words := strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " "))
	if words[0] != "/usr/bin/dienstweg-portal" || words[1] != "serve" {
		t.Fatalf("ExecStart runs %q", words[:2])
	}
	dir := t.TempDir()
	replace := map[string]string{
		"--data": filepath.Join(dir, "data"), "--key-file": filepath.Join(dir, "keys", "secrets.key"),
		"--listen": "no-such-address", "--metrics": "127.0.0.1:0",
	}
	var args []string
	for i := 2; i < len(words); i++ {
		w := words[i]
		if w == "$PORTAL_ARGS" {
			continue
		}
		if v, ok := replace[w]; ok {
			args = append(args, w, v)
			i++
			continue
		}
		if strings.HasPrefix(w, "--") {
			t.Errorf("the unit passes %s, which this test does not know: add it to replace", w)
		}
		args = append(args, w)
	}
	args = append([]string{"serve"}, append(args, "--gateway-endpoint", "gw.example:51820", "--gateway-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=")...)
	err = run(args, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no-such-address") {
		t.Errorf("serve %q = %v, want it to fail only at the listen address", args, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "keys", "secrets.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file after start: %v, %v", fi, err)
	}
}
