// Command dienstweg is the home-office client. One binary, several roles:
//
//	dienstweg [agent]      the per-user agent: tray, state, local API (default)
//	dienstweg helper       the root service that puts the tunnel into the system
//	dienstweg status       the state for scripts and the helpdesk
//	dienstweg up / down    start or end home office from a terminal
//	dienstweg support-code the code the helpdesk asks for
//	dienstweg diag --out F write the redacted diagnostics bundle
//	dienstweg open WINDOW  ask the agent to show a window
//	dienstweg settings     the settings, where each comes from; set yours
//	dienstweg help [CMD]   the commands, or one command's flags
//
// Windows are a program of their own, dienstweg-ui (app/ui), which the agent
// starts from beside its executable: this one links no Fyne and no OpenGL,
// and no code of the organisation's side (internal/org). main only parses
// flags and wires packages together.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/agent"
	"github.com/dienstweg/dienstweg/internal/cli"
	"github.com/dienstweg/dienstweg/internal/helper"
	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/logging"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/update"
	"github.com/dienstweg/dienstweg/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	return cli.Dispatch(args, commands(), os.Stdout, os.Stderr)
}

// commands are dienstweg's roles and commands; the first runs when none
// is named. docs/cli.md describes them for people.
func commands() []cli.Command {
	return []cli.Command{
		{Name: "agent", Usage: "[FLAGS]", Summary: "the per-user agent: tray, windows, local API", Run: runAgent},
		{Name: "helper", Usage: "[FLAGS]", Summary: "the root service that puts the tunnel into the system", Run: runHelper},
		{Name: "status", Usage: "[--json]", Summary: "the state and what the helpdesk asks for (--json for scripts)", Run: runStatus},
		{Name: "up", Usage: "[--code CODE]", Summary: "start home office (asks for the code from the authenticator app)", Run: runUp},
		{Name: "down", Summary: "end home office", Run: runDown},
		{Name: "support-code", Summary: "print the support code the helpdesk asks for", Run: runSupportCode},
		{Name: "diag", Usage: "--out FILE", Summary: "save the diagnostics bundle (a zip without secrets) to FILE", Run: runDiag},
		{Name: "open", Usage: "WINDOW", Summary: "ask the agent to show a window: " + strings.Join(localapi.Windows(), ", "), Run: runOpen},
		{Name: "settings", Usage: "[--json] [set KEY VALUE | unset KEY]", Summary: "show the settings and where each comes from; change one of yours (docs/policy.md)", Run: runSettings},
		{Name: "version", Summary: "print the version", Run: runVersion},
	}
}

func runVersion(args []string) int {
	fs := flag.NewFlagSet("dienstweg version", flag.ContinueOnError)
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	fmt.Println(version.String())
	return 0
}

func runAgent(args []string) int {
	fs := flag.NewFlagSet("dienstweg", flag.ContinueOnError)
	profilePath := fs.String("profile", "", "organisation profile `file` (default "+profile.DefaultPath()+")")
	langFlag := fs.String("lang", "", "language: de or en (default: the system's)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	socket := fs.String("socket", "", "local API socket `path` (default "+localapi.DefaultSocketPath()+")")
	open := fs.String("open", "", "window to open at start: status, wizard, announcements, support")
	panel := fs.String("tray-panel", "auto", "tray icons for a light or dark panel: auto (follow the desktop's setting), light or dark")
	system := fs.Bool("system-tunnel", false, "always use the system tunnel through the privileged helper, never the userspace one, whatever the profile's tunnel mode allows (without it: the system tunnel whenever the helper answers)")
	helperSocket := fs.String("helper-socket", "", "the helper's socket `path` (default "+helperapi.DefaultSocket+")")
	socks := fs.String("socks", "127.0.0.1:1080", "SOCKS5 proxy into the office network while a userspace tunnel is up, for this user only; Linux only (\"\" for none)")
	expiryWarning := fs.Duration("expiry-warning", 15*time.Minute, "warn this long before the day's authorisation ends, with \"Verlängern\" (0: no warning)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	if *showVersion {
		fmt.Println(version.String())
		return 0
	}
	tuneAgentMemory()
	level, err := logging.ParseLevel(*logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dienstweg:", err)
		return 2
	}
	logger, logFile, err := openLog(level)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dienstweg:", err)
		return 1
	}
	defer logFile.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stateDir, err := logging.StateDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dienstweg:", err)
		return 1
	}
	// A freshly installed version that keeps failing is rolled back here,
	// before it can fail again.
	if res, err := update.Startup(stateDir, version.String(), nil, logger); err != nil {
		logger.Warn("update start-up check", "err", err)
	} else if res.Reexec {
		logger.Warn("rolled back a failed update; starting the previous version", "exe", res.Exe)
		if err := update.Reexec(res.Exe, os.Args[1:]); err != nil {
			logger.Error("starting the previous version", "err", err)
			return 1
		}
	}

	path := *profilePath
	if path == "" {
		path = profile.DefaultPath()
	}
	prof, err := profile.Load(path)
	if err != nil && !errors.Is(err, profile.ErrNotInstalled) {
		logger.Error("no usable organisation profile", "err", err)
		fmt.Fprintln(os.Stderr, "dienstweg:", err)
		return 1
	}
	opts := agent.Options{
		Config: agent.Config{
			Profile:      prof,
			SocketPath:   *socket,
			OpenAtStart:  *open,
			Tray:         true,
			LogPath:      logFile.Path(),
			SOCKSAddr:    *socks,
			SystemTunnel: *system,
			HelperSocket: *helperSocket,
			// The flag's 0 is "no warning", the agent's 0 its default.
			ExpiryWarning: cmp.Or(*expiryWarning, -1),
		},
		Deps: agent.Deps{Logger: logger, UIOutput: logFile},
	}
	if prof != nil {
		// Central policy (issue 17) may override both.
		opts.AutoStart, opts.AllowStartInOffice = prof.AutoStart, prof.AllowStartInOffice
	}
	if opts.Panel, err = assets.ParsePanel(*panel); err != nil {
		fmt.Fprintln(os.Stderr, "dienstweg: --tray-panel:", err)
		return 2
	}
	if prof == nil {
		// Nothing to connect to: say so in the log, here, in the tray and
		// in the status window, and start nothing else.
		logger.Error("no organisation profile installed; the agent only shows that", "path", path)
		fmt.Fprintf(os.Stderr, "dienstweg: no organisation profile at %s.\n"+
			"  IT installs it there (see docs/packaging.md); until then Dienstweg only shows this.\n"+
			"  To try Dienstweg: dienstweg-portal demo --dir DIR, then dienstweg --profile DIR/profile.json\n"+
			"  (in the source tree, make run does both).\n", path)
		opts.Lang = i18n.DetectFromEnv(*langFlag, "")
		err = agent.RunWithoutProfile(ctx, path, opts)
	} else {
		// IT's policy (internal/policy): read once at start, as root
		// or an administrator left it; the agent decides the language
		// from it, --lang and the person's settings.
		pol := policy.LoadSystem()
		opts.Policy = &pol
		opts.Lang = *langFlag
		err = agent.Run(ctx, opts)
	}
	if inst, ok := agent.AsRestartForUpdate(err); ok {
		return handOverToUpdate(inst, opts.SocketPath, stateDir, logger)
	}
	if errors.Is(err, agent.ErrHandedOver) {
		fmt.Fprintln(os.Stderr, "dienstweg:", err)
		return 0
	}
	if err != nil {
		logger.Error("agent failed", "err", err)
		fmt.Fprintln(os.Stderr, "dienstweg:", err)
		return 1
	}
	return 0
}

// openLog logs to a rotating file in the state directory and, for
// whoever started the agent in a terminal, to stderr.
func openLog(level slog.Level) (*slog.Logger, *logging.RotatingFile, error) {
	dir, err := logging.StateDir()
	if err != nil {
		return nil, nil, err
	}
	f, err := logging.OpenRotating(filepath.Join(dir, "dienstweg.log"), logging.DefaultMaxSize, logging.DefaultBackups)
	if err != nil {
		return nil, nil, err
	}
	logger := logging.New(io.MultiWriter(f, os.Stderr), level)
	slog.SetDefault(logger)
	// Libraries that use the standard log package (systray) land here too.
	log.SetOutput(io.MultiWriter(f, os.Stderr))
	return logger, f, nil
}

func runStatus(args []string) int {
	fs := flag.NewFlagSet("dienstweg status", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print JSON for scripts")
	socket := fs.String("socket", "", "local API socket `path`")
	langFlag := fs.String("lang", "", "language: de or en")
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	return cli.Status(context.Background(), localapi.NewClient(*socket), cli.Options{
		JSON: *jsonOut, Lang: i18n.DetectFromEnv(*langFlag, ""), Out: os.Stdout, Err: os.Stderr,
	})
}

func runSettings(args []string) int {
	fs := flag.NewFlagSet("dienstweg settings", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print JSON for scripts")
	socket := fs.String("socket", "", "local API socket `path`")
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	return cli.Settings(context.Background(), localapi.NewClient(*socket), fs.Args(), cli.Options{
		JSON: *jsonOut, Lang: i18n.DetectFromEnv("", ""), Out: os.Stdout, Err: os.Stderr,
	})
}

func runOpen(args []string) int {
	window := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		window, args = args[0], args[1:] // the window first, then flags
	}
	fs := flag.NewFlagSet("dienstweg open", flag.ContinueOnError)
	socket := fs.String("socket", "", "local API socket `path`")
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	if window == "" && fs.NArg() > 0 {
		window = fs.Arg(0)
	}
	if window == "" {
		fmt.Fprintf(os.Stderr, "dienstweg open: which window? one of %v\n", localapi.Windows())
		return cli.ExitUsage
	}
	return cli.Open(context.Background(), localapi.NewClient(*socket), window, cli.Options{
		Lang: i18n.DetectFromEnv("", ""), Out: os.Stdout, Err: os.Stderr,
	})
}

func runSupportCode(args []string) int {
	fs := flag.NewFlagSet("dienstweg support-code", flag.ContinueOnError)
	socket := fs.String("socket", "", "local API socket `path`")
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	return cli.SupportCode(context.Background(), localapi.NewClient(*socket), cli.Options{
		Lang: i18n.DetectFromEnv("", ""), Out: os.Stdout, Err: os.Stderr,
	})
}

func runDiag(args []string) int {
	fs := flag.NewFlagSet("dienstweg diag", flag.ContinueOnError)
	out := fs.String("out", "", "write the zip to `file` (required)")
	socket := fs.String("socket", "", "local API socket `path`")
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	return cli.Diag(context.Background(), localapi.NewClient(*socket), *out, cli.Options{
		Lang: i18n.DetectFromEnv("", ""), Out: os.Stdout, Err: os.Stderr,
	})
}

func runUp(args []string) int {
	fs := flag.NewFlagSet("dienstweg up", flag.ContinueOnError)
	code := fs.String("code", "", "the 6-digit code from the authenticator app (asked for when empty)")
	socket := fs.String("socket", "", "local API socket `path`")
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	return cli.Up(context.Background(), localapi.NewClient(*socket), *code, os.Stdin, cli.Options{
		Lang: i18n.DetectFromEnv("", ""), Out: os.Stdout, Err: os.Stderr,
	})
}

func runDown(args []string) int {
	fs := flag.NewFlagSet("dienstweg down", flag.ContinueOnError)
	socket := fs.String("socket", "", "local API socket `path`")
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	return cli.Down(context.Background(), localapi.NewClient(*socket), cli.Options{
		Lang: i18n.DetectFromEnv("", ""), Out: os.Stdout, Err: os.Stderr,
	})
}

// handOverToUpdate starts the new version and waits until it answers on
// the local API; if it does not, the previous binary is restored and
// started again.
func handOverToUpdate(inst *update.Installed, socket, stateDir string, logger *slog.Logger) int {
	if socket == "" {
		socket = localapi.DefaultSocketPath()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := update.Handoff(ctx, inst, update.HandoffOptions{
		Args: os.Args[1:], Probe: update.StatusProbe(socket), Dir: stateDir, Logger: logger,
	})
	if err != nil {
		logger.Error("handing over to the update", "err", err)
	}
	if res.Healthy {
		logger.Info("update running", "version", inst.Version, "pid", res.Pid)
		return 0
	}
	if res.RolledBack {
		logger.Warn("update failed its self-test; back to the previous version", "reason", res.Reason)
		if err := update.Reexec(inst.Exe, os.Args[1:]); err != nil {
			logger.Error("starting the previous version", "err", err)
		}
	}
	return 1
}

func runHelper(args []string) int {
	fs := flag.NewFlagSet("dienstweg helper", flag.ContinueOnError)
	socket := fs.String("socket", "", "socket `path` (default "+helperapi.DefaultSocket+")")
	group := fs.String("group", "", "group whose members may use the helper (default dienstweg; - for none)")
	iface := fs.String("interface", "", "TUN device name (default dienstweg0)")
	dns := fs.String("dns", "", "how to set the office DNS: auto, resolved, file or off")
	resolvConf := fs.String("resolv-conf", "", "file the DNS method \"file\" edits")
	stateDir := fs.String("state-dir", "", "where the helper records what it changed (default /run/dienstweg)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if exit, ok := cli.Parse(fs, args); !ok {
		return exit
	}
	level, err := logging.ParseLevel(*logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dienstweg helper:", err)
		return 2
	}
	// systemd's journal takes stderr; the helper keeps no log file.
	logger := logging.New(os.Stderr, level).With("role", "helper")
	// SIGTERM from systemd must cancel: that is when the device, routes
	// and DNS change are removed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = helper.Run(ctx, helper.Options{Socket: *socket, Group: *group, Interface: *iface, DNS: *dns,
		ResolvConf: *resolvConf, StateDir: *stateDir, Logger: logger})
	if err != nil {
		logger.Error("helper failed", "err", err)
		return 1
	}
	return 0
}
