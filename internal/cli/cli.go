// Package cli implements the command line clients of the local API:
// `dienstweg status` and friends, for scripts and the helpdesk. They work
// where no window can open, e.g. over SSH.
package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/support"
)

// Exit codes, documented in docs/cli.md.
const (
	ExitOK              = 0
	ExitError           = 1
	ExitUsage           = 2
	ExitAgentNotRunning = 3
)

// StatusClient is the part of the local API `status` needs.
type StatusClient interface {
	Status(ctx context.Context) (state.Snapshot, error)
}

// Options for the commands.
type Options struct {
	JSON     bool
	Lang     string
	Out, Err io.Writer
	// Location shows times (of recent errors); nil means time.Local.
	Location *time.Location
}

// Status prints the agent's state and returns the exit code.
func Status(ctx context.Context, c StatusClient, o Options) int {
	cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, o.Lang)
	if err != nil {
		fmt.Fprintln(o.Err, "dienstweg:", err)
		return ExitError
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := c.Status(ctx)
	if errors.Is(err, localapi.ErrAgentNotRunning) {
		fmt.Fprintln(o.Err, cat.T("cli.agent_not_running"))
		return ExitAgentNotRunning
	}
	if err != nil {
		fmt.Fprintln(o.Err, "dienstweg:", err)
		return ExitError
	}
	if o.JSON {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			fmt.Fprintln(o.Err, "dienstweg:", err)
			return ExitError
		}
		return ExitOK
	}
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	fmt.Fprint(o.Out, statusText(s, cat, loc))
	return ExitOK
}

// statusText is the support window's summary (internal/support), so the
// helpdesk hears the same over the phone from either. What to do about a
// missing profile or a locked keyring follows the connection's line.
func statusText(s state.Snapshot, cat *i18n.Catalog, loc *time.Location) string {
	T := func(key string, args map[string]string) string {
		if args == nil {
			return cat.T(key)
		}
		return cat.T(key, args)
	}
	lines := support.Summary(s, T, loc)
	var b strings.Builder
	for _, l := range lines {
		if l.Label == T("support.session", nil) && s.ProfileMissing != "" {
			l.Value = T("profile.missing.state", nil)
		}
		fmt.Fprintf(&b, "%s: %s\n", l.Label, l.Value)
		if l.Label != T("support.session", nil) {
			continue
		}
		if s.ProfileMissing != "" {
			fmt.Fprintf(&b, "  %s\n  %s\n", T("profile.missing.detail", map[string]string{"Path": s.ProfileMissing}), T("profile.missing.next", nil))
		}
		if m := s.Keyring.Message; m != nil {
			fmt.Fprintf(&b, "  %s\n", T(m.Key, m.Args))
		}
		if s.Authorisation.Expired || s.Verdict.Extend {
			// The end of the day: when, and what a new code does.
			fmt.Fprintf(&b, "  %s\n", T(s.Verdict.Advice.Key, s.Verdict.Advice.Args))
		}
	}
	return b.String()
}

// WindowClient is the part of the local API `open` needs.
type WindowClient interface {
	OpenWindow(ctx context.Context, window string) error
}

// Open asks the agent to show a window, e.g. for a helpdesk script.
func Open(ctx context.Context, c WindowClient, window string, o Options) int {
	if !localapi.ValidWindow(window) {
		fmt.Fprintf(o.Err, "dienstweg open: unknown window %q (one of %v)\n", window, localapi.Windows())
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := c.OpenWindow(ctx, window)
	if errors.Is(err, localapi.ErrAgentNotRunning) {
		cat, cerr := i18n.Load(assets.Translations, assets.TranslationsDir, o.Lang)
		if cerr == nil {
			fmt.Fprintln(o.Err, cat.T("cli.agent_not_running"))
		}
		return ExitAgentNotRunning
	}
	if err != nil {
		fmt.Fprintln(o.Err, "dienstweg:", err)
		return ExitError
	}
	return ExitOK
}

// SupportCode prints the device's support code alone, for the helpdesk.
func SupportCode(ctx context.Context, c StatusClient, o Options) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := c.Status(ctx)
	if errors.Is(err, localapi.ErrAgentNotRunning) {
		if cat, cerr := i18n.Load(assets.Translations, assets.TranslationsDir, o.Lang); cerr == nil {
			fmt.Fprintln(o.Err, cat.T("cli.agent_not_running"))
		}
		return ExitAgentNotRunning
	}
	if err != nil {
		fmt.Fprintln(o.Err, "dienstweg:", err)
		return ExitError
	}
	fmt.Fprintln(o.Out, s.SupportCode)
	return ExitOK
}

// DiagClient is the part of the local API `diag` needs.
type DiagClient interface {
	Diagnostics(ctx context.Context, w io.Writer) error
}

// Diag saves the diagnostics bundle to path. It writes a temporary file
// beside it and renames it only when complete, so a failure never leaves
// a truncated zip under the name the helpdesk asked for.
func Diag(ctx context.Context, c DiagClient, path string, o Options) int {
	if path == "" {
		fmt.Fprintln(o.Err, "dienstweg diag: --out FILE is required")
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := support.SaveReport(path, func(w io.Writer) error { return c.Diagnostics(ctx, w) })
	if errors.Is(err, localapi.ErrAgentNotRunning) {
		if cat, cerr := i18n.Load(assets.Translations, assets.TranslationsDir, o.Lang); cerr == nil {
			fmt.Fprintln(o.Err, cat.T("cli.agent_not_running"))
		}
		return ExitAgentNotRunning
	}
	if err != nil {
		fmt.Fprintln(o.Err, "dienstweg diag:", err)
		return ExitError
	}
	fmt.Fprintln(o.Out, path)
	return ExitOK
}

// SessionClient is the part of the local API `up` and `down` need.
type SessionClient interface {
	StartSession(ctx context.Context, code string) error
	EndSession(ctx context.Context) error
	Status(ctx context.Context) (state.Snapshot, error)
}

// Up starts home office with code, asking on in for it when empty, and
// prints the state reached.
func Up(ctx context.Context, c SessionClient, code string, in io.Reader, o Options) int {
	cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, o.Lang)
	if err != nil {
		fmt.Fprintln(o.Err, "dienstweg:", err)
		return ExitError
	}
	if code == "" {
		// Ask the agent first: a code typed for an agent that does not
		// run, or for a computer not set up yet, is wasted.
		if exit, ok := readyForCode(ctx, c, cat, o); !ok {
			return exit
		}
		fmt.Fprint(o.Err, cat.T("cli.enter_code")+" ")
		// As typed: the agent owns the code's format (authcode).
		code, _ = bufio.NewReader(in).ReadString('\n')
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return report(ctx, c, c.StartSession(ctx, code), cat, o)
}

// readyForCode reports whether asking for a code makes sense, and else
// prints why and returns the exit code.
func readyForCode(ctx context.Context, c SessionClient, cat *i18n.Catalog, o Options) (int, bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := c.Status(ctx)
	switch {
	case errors.Is(err, localapi.ErrAgentNotRunning):
		fmt.Fprintln(o.Err, cat.T("cli.agent_not_running"))
		return ExitAgentNotRunning, false
	case err != nil:
		return 0, true // the start itself will say what is wrong
	case s.Verdict.Situation == situation.NotSetUp:
		fmt.Fprintln(o.Err, cat.T(situation.KeyStartNotSetUp))
		return ExitError, false
	case s.Verdict.Situation == situation.OutsideHours:
		// A code typed now would be refused: say when instead.
		fmt.Fprintln(o.Err, cat.T(s.Verdict.Headline.Key, s.Verdict.Headline.Args)+". "+cat.T(s.Verdict.Advice.Key, s.Verdict.Advice.Args))
		return ExitError, false
	}
	return 0, true
}

// Down ends home office.
func Down(ctx context.Context, c SessionClient, o Options) int {
	cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, o.Lang)
	if err != nil {
		fmt.Fprintln(o.Err, "dienstweg:", err)
		return ExitError
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return report(ctx, c, c.EndSession(ctx), cat, o)
}

// report prints an action's outcome in the employee's words and the state
// it left; the exit code says whether the action worked.
func report(ctx context.Context, c SessionClient, err error, cat *i18n.Catalog, o Options) int {
	if errors.Is(err, localapi.ErrAgentNotRunning) {
		fmt.Fprintln(o.Err, cat.T("cli.agent_not_running"))
		return ExitAgentNotRunning
	}
	if err != nil {
		var apiErr *localapi.Error
		if errors.As(err, &apiErr) && apiErr.Key != "" {
			fmt.Fprintln(o.Err, cat.T(apiErr.Key, apiErr.Args))
		} else {
			fmt.Fprintln(o.Err, "dienstweg:", err)
		}
		return ExitError
	}
	s, err := c.Status(ctx)
	if err == nil {
		fmt.Fprintf(o.Out, "%s: %s\n", cat.T("cli.state"), cat.T(s.Verdict.Headline.Key, s.Verdict.Headline.Args))
		if s.Detail != nil {
			fmt.Fprintln(o.Out, cat.T(s.Detail.Key, s.Detail.Args))
		}
	}
	return ExitOK
}
