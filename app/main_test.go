package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets a test run this binary's main as a child process, with
// real stdout, stderr and exit code.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("DIENSTWEG_TEST_RUN"); ok {
		os.Exit(run(strings.Fields(args)))
	}
	os.Exit(m.Run())
}

func runMain(t *testing.T, args string) (stdout, stderr string, exit int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DIENSTWEG_TEST_RUN="+args, "LANG=C.UTF-8")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %q: %v", args, err)
	}
	return out.String(), errb.String(), exit
}

// "--help" and "help" list every command and the agent's flags and exit
// 0; they used to print only the agent's flags and exit 2.
func TestHelpListsCommands(t *testing.T) {
	t.Parallel()
	for _, args := range []string{"--help", "-h", "help"} {
		stdout, stderr, exit := runMain(t, args)
		if exit != 0 || stderr != "" {
			t.Errorf("dienstweg %s: exit %d, stderr %q", args, exit, stderr)
		}
		for _, c := range commands() {
			if !strings.Contains(stdout, "\n  "+c.Name+" ") {
				t.Errorf("dienstweg %s does not list %q:\n%s", args, c.Name, stdout)
			}
		}
		if !strings.Contains(stdout, "-profile") {
			t.Errorf("dienstweg %s does not show the agent's flags:\n%s", args, stdout)
		}
	}
	stdout, _, exit := runMain(t, "help diag")
	if exit != 0 || !strings.Contains(stdout, "-out") {
		t.Errorf("dienstweg help diag: exit %d, stdout:\n%s", exit, stdout)
	}
	if _, stderr, exit := runMain(t, "help nope"); exit != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("dienstweg help nope: exit %d, stderr %q", exit, stderr)
	}
}
