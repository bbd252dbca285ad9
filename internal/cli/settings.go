package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/state"
)

// SettingsClient is the part of the local API `settings` needs.
type SettingsClient interface {
	Settings(ctx context.Context) (state.Settings, error)
	SetSetting(ctx context.Context, key string, value any) error
}

// Settings runs `dienstweg settings [set KEY VALUE | unset KEY]`: with
// no arguments it lists every setting, its value and where it came
// from; set and unset change one of the person's own. The agent refuses
// a locked one, and this says who locked it and whom to ask.
func Settings(ctx context.Context, c SettingsClient, args []string, o Options) int {
	cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, o.Lang)
	if err != nil {
		fmt.Fprintln(o.Err, "dienstweg:", err)
		return ExitError
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	switch {
	case len(args) == 0:
		return showSettings(ctx, c, cat, o)
	case args[0] == "set" && len(args) == 3, args[0] == "unset" && len(args) == 2:
	default:
		fmt.Fprintln(o.Err, "dienstweg settings: usage: dienstweg settings [set KEY VALUE | unset KEY]")
		return ExitUsage
	}
	key := args[1]
	def, ok := policy.Lookup(key)
	if !ok {
		fmt.Fprintf(o.Err, "dienstweg settings: %s (%s)\n", cat.T("settings.unknown"), key)
		return ExitUsage
	}
	var value any
	if args[0] == "set" {
		if value, err = def.Parse(args[2]); err != nil {
			fmt.Fprintf(o.Err, "dienstweg settings: %s (%v)\n", cat.T("settings.bad_value"), err)
			return ExitUsage
		}
	}
	if err := c.SetSetting(ctx, key, value); err != nil {
		return settingsFailed(err, cat, o)
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return settingsFailed(err, cat, o)
	}
	e, _ := s.Get(key)
	msg := "cli.settings.set"
	if value == nil {
		msg = "cli.settings.unset"
	}
	fmt.Fprintln(o.Out, cat.T(msg, map[string]string{"Key": key, "Value": valueText(e.Value, cat)}))
	if key == policy.KeyLanguage {
		fmt.Fprintln(o.Out, cat.T("settings.next_start"))
	}
	return ExitOK
}

func settingsFailed(err error, cat *i18n.Catalog, o Options) int {
	if errors.Is(err, localapi.ErrAgentNotRunning) {
		fmt.Fprintln(o.Err, cat.T("cli.agent_not_running"))
		return ExitAgentNotRunning
	}
	var apiErr *localapi.Error
	if errors.As(err, &apiErr) && apiErr.Key != "" {
		fmt.Fprintln(o.Err, cat.T(apiErr.Key, apiErr.Args))
		return ExitError
	}
	fmt.Fprintln(o.Err, "dienstweg:", err)
	return ExitError
}

func showSettings(ctx context.Context, c SettingsClient, cat *i18n.Catalog, o Options) int {
	s, err := c.Settings(ctx)
	if err != nil {
		return settingsFailed(err, cat, o)
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
	fmt.Fprint(o.Out, settingsText(s, cat))
	return ExitOK
}

// settingsText lists every setting: key, value, where it came from;
// the person's own settings are marked with "*" when they may change
// them.
func settingsText(s state.Settings, cat *i18n.Catalog) string {
	var b strings.Builder
	if s.ManagedBy != "" {
		fmt.Fprintln(&b, cat.T("settings.managed_by", map[string]string{"Organisation": s.ManagedBy}))
	}
	if s.HelpdeskText != "" {
		fmt.Fprintln(&b, cat.T("settings.helpdesk", map[string]string{"Helpdesk": s.HelpdeskText}))
	}
	if s.ManagedBy != "" || s.HelpdeskText != "" {
		fmt.Fprintln(&b)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, e := range s.List {
		mark := " "
		if e.Changeable {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\n", mark, e.Key, valueText(e.Value, cat), cat.T(policy.SourceKey(e.Source)))
	}
	tw.Flush()
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "* dienstweg settings set KEY VALUE | unset KEY")
	for _, p := range s.Problems {
		fmt.Fprintln(&b, "! "+p)
	}
	return b.String()
}

func valueText(v any, cat *i18n.Catalog) string {
	switch x := v.(type) {
	case bool:
		if x {
			return cat.T("settings.on")
		}
		return cat.T("settings.off")
	case float64:
		return fmt.Sprintf("%g", x)
	case string:
		if x == "" {
			return "–"
		}
		return x
	case nil:
		return "–"
	}
	return fmt.Sprint(v)
}
