// Command dienstweg-ui shows one Dienstweg window. The agent starts it
// beside its own executable whenever a window is needed:
//
//	dienstweg-ui WINDOW [--socket PATH] [--lang de|en]
//
// It claims the window over the agent's local API, follows the agent's
// state and exits when the window closes. It is the only Dienstweg binary
// that links Fyne and OpenGL, so the agent, the helper and the command
// line stay free of them. main only parses flags and wires packages.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/ui"
	"github.com/dienstweg/dienstweg/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Println(version.String())
		return 0
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(os.Stderr, "usage: dienstweg-ui WINDOW [--socket PATH] [--lang de|en]\nWINDOW is one of %v; the agent starts this program itself.\n", localapi.Windows())
		return 2
	}
	window, args := args[0], args[1:]
	fs := flag.NewFlagSet("dienstweg-ui", flag.ContinueOnError)
	socket := fs.String("socket", "", "local API socket `path` (default "+localapi.DefaultSocketPath()+")")
	langFlag := fs.String("lang", "", "language: de or en (default: the system's)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// The agent collects this process's output into its own log.
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("role", "ui", "window", window)
	lang := i18n.DetectFromEnv(*langFlag, "")
	if err := ui.Run(window, localapi.NewClient(*socket), lang, logger); err != nil {
		logger.Error("window failed", "err", err)
		return 1
	}
	return 0
}
