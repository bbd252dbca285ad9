package cli

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// settingsClient answers as the agent does: expiry_warning_minutes is
// locked by policy; auto_start is the person's.
type settingsClient struct {
	s   state.Settings
	set []string
}

func (c *settingsClient) Settings(context.Context) (state.Settings, error) { return c.s, nil }
func (c *settingsClient) SetSetting(_ context.Context, key string, value any) error {
	if key == "expiry_warning_minutes" {
		return &localapi.Error{Status: http.StatusForbidden, Code: "setting_locked", Key: "settings.locked",
			Args: map[string]string{"Organisation": "Stadt Musterstadt", "Helpdesk": "0800 123 456"}}
	}
	c.set = append(c.set, key)
	for i := range c.s.List {
		if c.s.List[i].Key == key {
			c.s.List[i].Value, c.s.List[i].Source = value, "user"
		}
	}
	return nil
}

func newSettingsClient() *settingsClient {
	return &settingsClient{s: state.Settings{ManagedBy: "Stadt Musterstadt", HelpdeskText: "0800 123 456", List: []state.Setting{
		{Key: "auto_start", Value: false, Source: "default", Changeable: true},
		{Key: "expiry_warning_minutes", Value: float64(30), Source: "policy", Locked: true},
	}}}
}

func TestSettingsCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        []string
		exit        int
		out, errOut string // each must appear
		sent        bool
	}{
		{name: "list", args: nil, exit: ExitOK, out: "Verwaltet von Stadt Musterstadt"},
		{name: "set_own", args: []string{"set", "auto_start", "an"}, exit: ExitOK, out: "auto_start ist jetzt an.", sent: true},
		{name: "unset_own", args: []string{"unset", "auto_start"}, exit: ExitOK, out: "auto_start: Ihre Wahl ist entfernt", sent: true},
		{name: "set_locked", args: []string{"set", "expiry_warning_minutes", "10"}, exit: ExitError, errOut: "Diese Einstellung legt Stadt Musterstadt fest. Fragen dazu beantwortet der IT-Service: 0800 123 456"},
		{name: "bad_value", args: []string{"set", "auto_start", "vielleicht"}, exit: ExitUsage, errOut: "Dieser Wert ist hier nicht möglich."},
		{name: "unknown_key", args: []string{"set", "auto_strat", "an"}, exit: ExitUsage, errOut: "Diese Einstellung gibt es nicht."},
		{name: "usage", args: []string{"set", "auto_start"}, exit: ExitUsage, errOut: "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newSettingsClient()
			var out, errOut bytes.Buffer
			got := Settings(context.Background(), c, tt.args, Options{Lang: "de", Out: &out, Err: &errOut})
			if got != tt.exit {
				t.Errorf("exit %d, want %d; stderr %q", got, tt.exit, errOut.String())
			}
			if !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.errOut) {
				t.Errorf("out %q, err %q; want %q and %q", out.String(), errOut.String(), tt.out, tt.errOut)
			}
			if (len(c.set) > 0) != tt.sent {
				t.Errorf("sent %v", c.set)
			}
		})
	}
}
