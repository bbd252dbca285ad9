package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/i18n"
)

// The release number lives in VERSION; FyneApp.toml must say the same.
func TestFyneAppVersionMatchesVERSION(t *testing.T) {
	v, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	toml, err := os.ReadFile("../../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*Version\s*=\s*"([^"]+)"`).FindSubmatch(toml)
	if m == nil {
		t.Fatal("FyneApp.toml has no Version")
	}
	if got, want := string(m[1]), strings.TrimSpace(string(v)); got != want {
		t.Errorf("FyneApp.toml Version = %q, VERSION = %q", got, want)
	}
}

// TestMain lets a test start this program's packages as a child process:
// Fyne reads the locale while they initialise.
func TestMain(m *testing.M) {
	if os.Getenv("DIENSTWEG_UI_TEST_CHILD") == "1" {
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A window started by the agent under LANG=C.UTF-8 printed "Fyne error:
// Error parsing user locale C" on every start; the agent's environment for
// windows (i18n.WindowEnv) keeps Fyne quiet.
func TestWindowEnvKeepsFyneQuietUnderCLocale(t *testing.T) {
	t.Parallel()
	start := func(env []string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(env, "DIENSTWEG_UI_TEST_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return string(out)
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
	if out := start(base); !strings.Contains(out, "Error parsing user locale") {
		t.Logf("without WindowEnv Fyne no longer complains; the test still checks the fix: %q", out)
	}
	if out := start(i18n.WindowEnv(base, "de")); out != "" {
		t.Errorf("window process under LANG=C.UTF-8 printed:\n%s", out)
	}
}
