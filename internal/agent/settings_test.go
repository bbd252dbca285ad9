package agent

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/cli"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/state"
)

// lockedPolicy is what IT might set: some of the person's settings
// locked, and who manages them.
func lockedPolicy() *policy.Policy {
	return &policy.Policy{Origin: "/etc/dienstweg/policy.json", Values: policy.Values{
		policy.KeyExpiryWarning:         30,
		policy.KeyLanguage:              "en",
		policy.KeySafeModeAlways:        true,
		policy.KeyAllowReenroll:         false,
		policy.KeyTunnelMode:            "userspace",
		policy.KeyUpdateCheckHours:      2,
		policy.KeyManagedByOrganization: "Stadt Musterstadt",
		policy.KeyHelpdeskText:          "IT-Service, Tel. 0123 456-789",
	}}
}

// newPolicyAgent runs an agent with pol and a set-up computer, on a
// fresh state directory unless stateDir is given.
func newPolicyAgent(t *testing.T, ctx context.Context, pol *policy.Policy, stateDir string) (*Agent, *localapi.Client) {
	t.Helper()
	_, prof := testProfile(t)
	ks := keyring.NewMem()
	storeDevice(t, ks)
	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, UIExe: uiBinary, StateDir: stateDir, CacheDir: t.TempDir(), Policy: pol},
		Deps:         Deps{Keyring: ks, Session: newSwitchSession()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	return a, c
}

func wantRefused(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var e *localapi.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Errorf("%s: err = %v, want %d %s", what, err, status, code)
	}
}

// A locked setting cannot be changed through the API or the command
// line, and both say who locked it and whom to ask; the person's own
// unlocked settings change and last across a restart.
func TestLockedSettingsRefusedThroughAPIAndCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stateDir := t.TempDir()
	a, c := newPolicyAgent(t, ctx, lockedPolicy(), stateDir)

	s, err := c.Settings(ctx)
	if err != nil {
		t.Fatalf("Settings: %v", err)
	}
	if s.ManagedBy != "Stadt Musterstadt" || s.HelpdeskText != "IT-Service, Tel. 0123 456-789" || s.Origin != "/etc/dienstweg/policy.json" {
		t.Errorf("managed by %q, helpdesk %q, origin %q", s.ManagedBy, s.HelpdeskText, s.Origin)
	}
	for key, want := range map[string]struct {
		source             string
		locked, changeable bool
	}{
		policy.KeyExpiryWarning:    {"policy", true, false},
		policy.KeyAutoStart:        {"default", false, true},
		policy.KeyUpdateCheckHours: {"policy", true, false},
		policy.KeyOfficeCheck:      {"profile", false, false}, // the test profile names no office host
	} {
		e, ok := s.Get(key)
		if !ok || e.Source != want.source || e.Locked != want.locked || e.Changeable != want.changeable {
			t.Errorf("%s = %+v, want %+v", key, e, want)
		}
	}

	// The API: 403 with a code, and the message names the organisation.
	err = c.SetSetting(ctx, policy.KeyExpiryWarning, 10)
	wantRefused(t, "locked", err, http.StatusForbidden, "setting_locked")
	var e *localapi.Error
	if errors.As(err, &e) && (e.Key != "settings.locked" || e.Args["Organisation"] != "Stadt Musterstadt" || e.Args["Helpdesk"] != "IT-Service, Tel. 0123 456-789") {
		t.Errorf("refusal says %s %v", e.Key, e.Args)
	}
	wantRefused(t, "IT only", c.SetSetting(ctx, policy.KeyOfficeCheck, false), http.StatusForbidden, "setting_it_only")
	wantRefused(t, "bad value", c.SetSetting(ctx, policy.KeyAutoStart, "yes"), http.StatusBadRequest, "bad_setting_value")
	wantRefused(t, "unknown", c.SetSetting(ctx, "auto_strat", true), http.StatusBadRequest, "unknown_setting")
	// Safe mode is always on: turning it off is refused, it stays on.
	wantRefused(t, "safe mode off", c.SetSafeMode(ctx, false), http.StatusForbidden, "setting_locked")
	if snap, _ := c.Status(ctx); !snap.SafeMode {
		t.Error("safe mode is off although policy keeps it on")
	}
	// Setting the computer up again is refused, and not offered.
	if _, err := c.Enroll(ctx, localapi.EnrollAction{Action: localapi.EnrollRestart}); err == nil {
		t.Error("re-enrolling was allowed against the policy")
	} else {
		wantRefused(t, "re-enroll", err, http.StatusForbidden, "setting_locked")
	}
	if v, err := c.EnrollView(ctx); err != nil || !v.Enrolled || v.CanRestart {
		t.Errorf("wizard view: enrolled %v, can restart %v (%v); want no restart offered", v.Enrolled, v.CanRestart, err)
	}

	// The command line, in German: the same refusal in words, exit 1.
	var out, errOut bytes.Buffer
	o := cli.Options{Lang: "de", Out: &out, Err: &errOut}
	if code := cli.Settings(ctx, c, []string{"set", policy.KeyExpiryWarning, "10"}, o); code != cli.ExitError {
		t.Errorf("cli set locked: exit %d, want %d", code, cli.ExitError)
	}
	if got := errOut.String(); !strings.Contains(got, "Diese Einstellung legt Stadt Musterstadt fest") || !strings.Contains(got, "0123 456-789") {
		t.Errorf("cli said %q", got)
	}
	out.Reset()
	if code := cli.Settings(ctx, c, []string{"set", policy.KeyAutoStart, "an"}, o); code != cli.ExitOK {
		t.Errorf("cli set auto_start: exit %d; stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := cli.Settings(ctx, c, nil, o); code != cli.ExitOK {
		t.Fatalf("cli settings: exit %d", code)
	}
	for _, want := range []string{`Verwaltet von Stadt Musterstadt`, `  expiry_warning_minutes +30 +von Ihrer IT festgelegt`, `\* auto_start +an +von Ihnen gewählt`} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("cli settings lacks %q:\n%s", want, out.String())
		}
	}
	if v := a.currentSettings().Get(policy.KeyExpiryWarning).Value; v != 30 {
		t.Errorf("expiry warning is %v after the refusals, want 30", v)
	}

	// Policy decided the language and the tunnel mode over --lang "de"
	// and the profile.
	if a.opts.Lang != "en" {
		t.Errorf("language %q, want en from the policy", a.opts.Lang)
	}
	if snap, _ := c.Status(ctx); snap.Language != "en" {
		t.Errorf("status language %q, want en", snap.Language)
	}
}

// The person's own choice lasts across a restart and gives way to a
// policy that locks it later.
func TestUserSettingPersistsAndPolicyOverrides(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stateDir := t.TempDir()
	func() {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		_, c := newPolicyAgent(t, ctx, nil, stateDir)
		if err := c.SetSetting(ctx, policy.KeyExpiryWarning, 5); err != nil {
			t.Fatalf("SetSetting: %v", err)
		}
	}()
	_, c := newPolicyAgent(t, ctx, nil, stateDir)
	snap, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := snap.Settings.Get(policy.KeyExpiryWarning); e.Source != "user" || e.Value != float64(5) {
		t.Errorf("after a restart: %+v, want 5 from the person", e)
	}
	_, c = newPolicyAgent(t, ctx, lockedPolicy(), stateDir)
	snap, _ = c.Status(ctx)
	if e, _ := snap.Settings.Get(policy.KeyExpiryWarning); e.Source != "policy" || e.Value != float64(30) || !e.Locked {
		t.Errorf("with the policy: %+v, want 30 locked", e)
	}
}

// Without a policy the tunnel mode is the profile's; with one, the
// policy's, and the status says which.
func TestTunnelModeFollowsPolicy(t *testing.T) {
	_, prof := testProfile(t)
	for _, tt := range []struct {
		name string
		pol  *policy.Policy
		want string
	}{
		{"profile_default", nil, "system"},
		{"policy", lockedPolicy(), "userspace"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(Options{
				Config:       Config{Profile: prof, Lang: "de", SocketPath: socketPath(t), UIExe: uiBinary, StateDir: t.TempDir(), CacheDir: t.TempDir(), Policy: tt.pol},
				Deps:         Deps{Keyring: keyring.NewMem()},
				TestSwitches: TestSwitches{NoWizardAtStart: true},
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := a.Snapshot().Tunnel.Policy; got != tt.want {
				t.Errorf("tunnel policy %q, want %q", got, tt.want)
			}
			if a.tunnels.policy != tt.want {
				t.Errorf("chooser runs %q, want %q", a.tunnels.policy, tt.want)
			}
			var snap state.Snapshot = a.Snapshot()
			if e, _ := snap.Settings.Get(policy.KeyTunnelMode); (e.Source == "policy") != (tt.pol != nil) {
				t.Errorf("tunnel_mode source %q", e.Source)
			}
		})
	}
}

// The settings whose behaviour lives in other parts reach them: the
// end-of-day notice, the code prompt at login, the start in the office
// and the in-office check.
func TestPolicyReachesConfig(t *testing.T) {
	_, prof := testProfile(t)
	pol := &policy.Policy{Values: policy.Values{
		policy.KeyExpiryWarning: 30, policy.KeyAutoStart: true, policy.KeyAllowStartInOffice: true, policy.KeyOfficeCheck: false,
	}}
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socketPath(t), UIExe: uiBinary, StateDir: t.TempDir(), CacheDir: t.TempDir(), Policy: pol},
		Deps:         Deps{Keyring: keyring.NewMem(), Session: newSwitchSession()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if a.opts.ExpiryWarning != 30*time.Minute || !a.opts.AutoStart || !a.opts.AllowStartInOffice || a.office != nil {
		t.Errorf("expiry %v, auto start %v, start in office %v, office check %v; want 30m, true, true, off",
			a.opts.ExpiryWarning, a.opts.AutoStart, a.opts.AllowStartInOffice, a.office != nil)
	}
	// No notice at all: 0 minutes is a negative Config value.
	pol.Values[policy.KeyExpiryWarning] = 0
	b, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socketPath(t), UIExe: uiBinary, StateDir: t.TempDir(), CacheDir: t.TempDir(), Policy: pol, ExpiryWarning: 15 * time.Minute},
		Deps:         Deps{Keyring: keyring.NewMem(), Session: newSwitchSession()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if b.opts.ExpiryWarning >= 0 {
		t.Errorf("expiry warning %v with the policy's 0, want none (negative)", b.opts.ExpiryWarning)
	}
}
