package cli

import (
	"bytes"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

// fakeCommands record the arguments each command ran with; their flags
// go through Parse like the real ones.
func fakeCommands(ran *[]string) []Command {
	cmd := func(name string) Command {
		return Command{Name: name, Summary: "does " + name, Run: func(args []string) int {
			fs := flag.NewFlagSet("dienstweg "+name, flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.Bool("json", false, "")
			*ran = append(*ran, strings.TrimSpace(name+" "+strings.Join(args, " ")))
			if exit, ok := Parse(fs, args); !ok {
				return exit
			}
			return ExitOK
		}}
	}
	return []Command{cmd("agent"), cmd("status"), cmd("diag")}
}

func TestDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		exit     int
		ran      []string
		stdout   []string // each must appear
		stderrOK bool     // stderr may be non-empty
	}{
		{name: "no_command_runs_the_default", args: nil, ran: []string{"agent"}},
		{name: "flag_first_runs_the_default", args: []string{"--json"}, ran: []string{"agent --json"}},
		{name: "command_with_flags", args: []string{"status", "--json"}, ran: []string{"status --json"}},
		{name: "help_flag_lists_commands", args: []string{"--help"}, ran: []string{"agent -h"},
			stdout: []string{"agent", "status", "diag", "help COMMAND", "(default)"}},
		{name: "short_help_flag", args: []string{"-h"}, ran: []string{"agent -h"}, stdout: []string{"diag"}},
		{name: "help_word", args: []string{"help"}, ran: []string{"agent -h"}, stdout: []string{"status"}},
		{name: "help_command", args: []string{"help", "status"}, ran: []string{"status -h"},
			stdout: []string{"dienstweg status: does status", "Usage: dienstweg status"}},
		{name: "command_help_flag", args: []string{"diag", "--help"}, ran: []string{"diag --help"}},
		{name: "help_unknown_command", args: []string{"help", "nope"}, exit: ExitUsage, stderrOK: true},
		{name: "unknown_command", args: []string{"nope"}, exit: ExitUsage, stderrOK: true},
		{name: "unknown_flag", args: []string{"status", "--nope"}, exit: ExitUsage, ran: []string{"status --nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ran []string
			var stdout, stderr bytes.Buffer
			if got := Dispatch(tt.args, fakeCommands(&ran), &stdout, &stderr); got != tt.exit {
				t.Errorf("Dispatch(%q) = %d, want %d; stderr %q", tt.args, got, tt.exit, stderr.String())
			}
			if !slices.Equal(ran, tt.ran) {
				t.Errorf("Dispatch(%q) ran %q, want %q", tt.args, ran, tt.ran)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("Dispatch(%q) stdout lacks %q:\n%s", tt.args, want, stdout.String())
				}
			}
			if !tt.stderrOK && stderr.Len() > 0 {
				t.Errorf("Dispatch(%q) wrote to stderr: %q", tt.args, stderr.String())
			}
			if tt.stderrOK && !strings.Contains(stderr.String(), "Commands:") {
				t.Errorf("Dispatch(%q) does not list the commands on stderr: %q", tt.args, stderr.String())
			}
		})
	}
}
