package support

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var codeShape = regexp.MustCompile(`^DW-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{2}$`)

func TestCodeIsStableReadableAndDistinct(t *testing.T) {
	t.Parallel()
	a := Code([]byte("5f1e0c3a9b7d4e2f8a6c1b3d5e7f9a0b"))
	if a != Code([]byte("5f1e0c3a9b7d4e2f8a6c1b3d5e7f9a0b")) {
		t.Fatal("the same device gave two codes")
	}
	if !codeShape.MatchString(a) {
		t.Errorf("code %q is not DW-XXXX-XX in the read-aloud alphabet", a)
	}
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c := Code([]byte(strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune(i))))
		if !codeShape.MatchString(c) {
			t.Fatalf("code %q has the wrong shape", c)
		}
		for _, bad := range "01OILU" {
			if strings.ContainsRune(c[3:], bad) {
				t.Fatalf("code %q contains the confusable %q", c, bad)
			}
		}
		seen[c] = true
	}
	if len(seen) < 1990 {
		t.Errorf("2000 devices gave only %d distinct codes", len(seen))
	}
}

// Without a machine id, the id is made once and kept across restarts; a
// second device (another state dir) gets another code.
func TestDeviceIDFallbackIsStable(t *testing.T) {
	saved := machineIDPaths
	machineIDPaths = []string{"/nonexistent/machine-id"}
	t.Cleanup(func() { machineIDPaths = saved })

	dirA, dirB := t.TempDir(), t.TempDir()
	first, err := DeviceID(dirA)
	if err != nil {
		t.Fatalf("DeviceID: %v", err)
	}
	again, err := DeviceID(dirA)
	if err != nil {
		t.Fatalf("DeviceID again: %v", err)
	}
	if string(first) != string(again) || Code(first) != Code(again) {
		t.Errorf("device id changed across restarts: %s vs %s", first, again)
	}
	other, err := DeviceID(dirB)
	if err != nil {
		t.Fatalf("DeviceID(other): %v", err)
	}
	if Code(first) == Code(other) {
		t.Errorf("two devices share the code %s", Code(first))
	}
}

func TestReportPathPrefersTheDesktop(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_DESKTOP_DIR", "")
	now := time.Date(2026, 11, 23, 8, 12, 5, 0, time.UTC)
	if got, want := ReportPath(now), filepath.Join(home, "dienstweg-bericht-2026-11-23-081205.zip"); got != want {
		t.Errorf("without a desktop: %s, want %s", got, want)
	}
	desk := filepath.Join(home, "Schreibtisch")
	if err := os.MkdirAll(desk, 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(home, ".config"), 0o755)
	os.WriteFile(filepath.Join(home, ".config", "user-dirs.dirs"), []byte(`XDG_DESKTOP_DIR="$HOME/Schreibtisch"`+"\n"), 0o644)
	if got := ReportPath(now); filepath.Dir(got) != desk {
		t.Errorf("with user-dirs: %s, want in %s", got, desk)
	}
}

func TestNormaliseCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"written", "DW-7K3F-Q9", "DW-7K3F-Q9", true},
		{"dictated", " dw 7k3f q9 ", "DW-7K3F-Q9", true},
		{"without_prefix", "7K3FQ9", "DW-7K3F-Q9", true},
		{"confusable_symbol", "DW-7K3F-Q0", "", false},
		{"too_short", "DW-7K3F-Q", "", false},
		{"empty", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := NormaliseCode(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("NormaliseCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
	if got, ok := NormaliseCode(Code([]byte("x"))); !ok || got != Code([]byte("x")) {
		t.Errorf("a derived code does not round-trip: %q, %v", got, ok)
	}
}

// A device's code is its derived one until RenewCode gives it another;
// that one is kept across restarts, and the rollout id stays as it was.
func TestRenewCodeIsKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, err := DeviceID(dir)
	if err != nil {
		t.Fatalf("DeviceID: %v", err)
	}
	first, err := DeviceCode(dir)
	if err != nil || first != Code(id) {
		t.Fatalf("DeviceCode = %q, %v; want the derived %q", first, err, Code(id))
	}
	renewed, err := RenewCode(dir)
	if err != nil {
		t.Fatalf("RenewCode: %v", err)
	}
	if renewed == first || !codeShape.MatchString(renewed) {
		t.Errorf("renewed code %q (was %q): want a new one in the read-aloud alphabet", renewed, first)
	}
	if again, err := DeviceCode(dir); err != nil || again != renewed {
		t.Errorf("DeviceCode after renewing = %q, %v; want %q", again, err, renewed)
	}
	if idAgain, err := DeviceID(dir); err != nil || string(idAgain) != string(id) {
		t.Errorf("DeviceID changed with the support code: %q, %v", idAgain, err)
	}
	if other, _ := RenewCode(dir); other == renewed {
		t.Errorf("renewing twice gave %q both times", other)
	}
	// A damaged file falls back to the derived code rather than failing.
	if err := os.WriteFile(filepath.Join(dir, renewedCodeFile), []byte("kaputt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := DeviceCode(dir); err != nil || got != first {
		t.Errorf("DeviceCode with a damaged file = %q, %v; want %q", got, err, first)
	}
}
