package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Command is one role or command of the dienstweg binary, for dispatch
// and for help. The first command of a list is the default: it runs when
// no command is named.
type Command struct {
	Name    string
	Usage   string // what follows the name, e.g. "WINDOW [--socket PATH]"
	Summary string
	// Run parses its own flags with Parse, so "COMMAND --help" and
	// "help COMMAND" show them.
	Run func(args []string) int
}

// helpFlags ask for help in the flag package's spellings.
var helpFlags = []string{"-h", "-help", "--help"}

// Parse parses args into fs. A request for help shows fs's flags on
// stdout and ends the command with ExitOK; any other error, already
// printed by fs on stderr, ends it with ExitUsage.
func Parse(fs *flag.FlagSet, args []string) (exit int, ok bool) {
	// Help that was asked for goes to stdout, where "| less" finds it;
	// errors stay on stderr. An output set by the caller is kept.
	if fs.Output() == os.Stderr && slices.ContainsFunc(args, func(a string) bool { return slices.Contains(helpFlags, a) }) {
		fs.SetOutput(os.Stdout)
	}
	fs.Usage = func() {
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			fmt.Fprintf(fs.Output(), "%s has no flags.\n", fs.Name())
			return
		}
		fmt.Fprintf(fs.Output(), "Flags of %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitOK, false
	case err != nil:
		return ExitUsage, false
	}
	return ExitOK, true
}

// Dispatch runs the command args name: "dienstweg status --json". With
// no command, or a flag first, the default command runs. "help",
// "--help" and "-h" list the commands and the default command's flags;
// "help COMMAND" shows one command's flags.
func Dispatch(args []string, cmds []Command, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return cmds[0].Run(args)
	}
	first := args[0]
	switch {
	case first == "help" && len(args) > 1:
		c, ok := find(cmds, args[1])
		if !ok {
			fmt.Fprintf(stderr, "dienstweg help: unknown command %q\n%s", args[1], list(cmds))
			return ExitUsage
		}
		fmt.Fprintf(stdout, "dienstweg %s: %s\n\nUsage: dienstweg %s\n\n", c.Name, c.Summary, strings.TrimSpace(c.Name+" "+c.Usage))
		return c.Run([]string{"-h"})
	case first == "help" || slices.Contains(helpFlags, first):
		fmt.Fprint(stdout, list(cmds))
		fmt.Fprintf(stdout, "\n\"dienstweg help COMMAND\" shows the flags of one command.\nExit codes: %d done, %d error, %d wrong usage, %d agent not running.\n\n",
			ExitOK, ExitError, ExitUsage, ExitAgentNotRunning)
		return cmds[0].Run([]string{"-h"})
	case strings.HasPrefix(first, "-"):
		return cmds[0].Run(args)
	}
	c, ok := find(cmds, first)
	if !ok {
		fmt.Fprintf(stderr, "dienstweg: unknown command %q\n%s", first, list(cmds))
		return ExitUsage
	}
	return c.Run(args[1:])
}

func find(cmds []Command, name string) (Command, bool) {
	for _, c := range cmds {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// list is the usage line of every command, aligned.
func list(cmds []Command) string {
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.Name))
	}
	var b strings.Builder
	b.WriteString("Usage: dienstweg [COMMAND] [FLAGS]\n\nCommands:\n")
	for i, c := range cmds {
		summary := c.Summary
		if i == 0 {
			summary += " (default)"
		}
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.Name, summary)
	}
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "help", "this text; help COMMAND shows a command's flags")
	return b.String()
}
