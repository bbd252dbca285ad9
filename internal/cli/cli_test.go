package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fixedClient struct {
	snap state.Snapshot
	err  error
}

func (c fixedClient) Status(context.Context) (state.Snapshot, error) { return c.snap, c.err }

func sample() state.Snapshot {
	at := time.Date(2026, 11, 23, 8, 12, 0, 0, time.UTC)
	return judged(state.Snapshot{
		Seq: 42, Version: "0.1.0", Organisation: "Stadt Musterstadt", SupportCode: "DW-7K3F-Q9",
		DeviceName: "nb-0815", Language: "de", Session: state.Limited, Since: at,
		Detail: &state.Message{Key: "health.limited", Args: map[string]string{"Service": "Intranet"}},
		Health: state.Health{
			Links: []state.Link{
				{Code: "internet", OK: true, Detail: state.Message{Key: "health.internet.ok"}, Latency: 12.5},
				{Code: "office_services", OK: false, Detail: state.Message{Key: "health.service.down", Args: map[string]string{"Service": "Intranet"}}},
			},
			CheckedAt: at,
		},
		Announce:     state.Announcements{Unread: 2, UnreadUrgent: true},
		Update:       state.Update{State: "available", Available: "0.2.0"},
		Enrollment:   state.Enrollment{Enrolled: true, User: "anna.schmidt"},
		Keyring:      state.Keyring{State: state.KeyringOK},
		TrayVisible:  true,
		RecentErrors: []state.ErrorEntry{{Time: at, Message: state.Message{Key: "session.gateway_unreachable"}}},
		Helpdesk:     state.Helpdesk{Phone: "05221 123-4567", Hours: "Mo–Fr 7:30–16:00"},
		Tunnel:       state.Tunnel{Policy: "system", Mode: state.TunnelModeSystem, Helper: state.HelperAnswers},
	})
}

// judged is s as the agent's store publishes it: with its verdict.
func judged(s state.Snapshot) state.Snapshot {
	situation.Derive(&s)
	return s
}

// The JSON of `dienstweg status --json` is a contract with helpdesk
// scripts; docs/cli.md describes it. A change must be deliberate.
func TestStatusJSONGolden(t *testing.T) { checkStatusGolden(t, sample(), "status.golden.json") }

// checkStatusGolden compares the JSON of snap with testdata/name.
func checkStatusGolden(t *testing.T, snap state.Snapshot, name string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Status(context.Background(), fixedClient{snap: snap}, Options{JSON: true, Lang: "de", Out: &out, Err: &errOut})
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("status JSON changed; if deliberate, update docs/cli.md and run go test ./internal/cli -update\ngot:\n%s\nwant:\n%s", out.Bytes(), want)
	}
}

// The text is the support window's summary, in both languages; it used
// to be four lines (state, organisation, support code, version).
func TestStatusText(t *testing.T) {
	for _, lang := range []string{"de", "en"} {
		var out bytes.Buffer
		if code := Status(context.Background(), fixedClient{snap: sample()}, Options{Lang: lang, Out: &out, Err: &out, Location: time.UTC}); code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		golden := filepath.Join("testdata", "status."+lang+".golden.txt")
		if *update {
			if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("reading golden (run with -update to create): %v", err)
		}
		if out.String() != string(want) {
			t.Errorf("status text (%s) changed; if deliberate, run go test ./internal/cli -update\ngot:\n%s\nwant:\n%s", lang, out.String(), want)
		}
	}
}

// A locked keyring is said right after the state, with what to do.
func TestStatusTextLockedKeyring(t *testing.T) {
	snap := sample()
	snap.Session = state.NotConnected
	snap.Keyring = state.Keyring{State: state.KeyringLocked, Message: &state.Message{Key: "keyring.locked"}}
	snap = judged(snap)
	var out bytes.Buffer
	if code := Status(context.Background(), fixedClient{snap: snap}, Options{Lang: "de", Out: &out, Err: &out}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := out.String(); !strings.Contains(got, "Verbindung: Homeoffice nicht verbunden\n  Ihr Passwortspeicher ist gesperrt") {
		t.Errorf("got:\n%s", got)
	}
}

func TestStatusTextWithoutProfile(t *testing.T) {
	var out bytes.Buffer
	snap := state.Snapshot{Version: "0.1.0", ProfileMissing: "/etc/dienstweg/profile.json"}
	if code := Status(context.Background(), fixedClient{snap: snap}, Options{Lang: "en", Out: &out, Err: &out}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Connection: Dienstweg is not set up yet\n", "(expected at /etc/dienstweg/profile.json)", "contact your IT service"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestExitCodes(t *testing.T) {
	notRunning := fmt.Errorf("%w (socket /x)", localapi.ErrAgentNotRunning)
	tests := []struct {
		name string
		run  func(o Options) int
		want int
	}{
		{"status_ok", func(o Options) int { return Status(context.Background(), fixedClient{snap: sample()}, o) }, ExitOK},
		{"status_agent_not_running", func(o Options) int { return Status(context.Background(), fixedClient{err: notRunning}, o) }, ExitAgentNotRunning},
		{"status_other_error", func(o Options) int {
			return Status(context.Background(), fixedClient{err: fmt.Errorf("boom")}, o)
		}, ExitError},
		{"support_code_ok", func(o Options) int { return SupportCode(context.Background(), fixedClient{snap: sample()}, o) }, ExitOK},
		{"support_code_agent_not_running", func(o Options) int {
			return SupportCode(context.Background(), fixedClient{err: notRunning}, o)
		}, ExitAgentNotRunning},
		{"open_unknown_window", func(o Options) int { return Open(context.Background(), nil, "evil", o) }, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if got := tt.run(Options{Lang: "de", Out: &out, Err: &out}); got != tt.want {
				t.Errorf("exit %d, want %d (output %q)", got, tt.want, out.String())
			}
		})
	}
}

type failingDiag struct{ after int }

func (f failingDiag) Diagnostics(_ context.Context, w io.Writer) error {
	_, _ = w.Write(bytes.Repeat([]byte("x"), f.after))
	if f.after > 0 {
		return fmt.Errorf("connection reset")
	}
	return nil
}

// A failed download leaves no file under the requested name.
func TestDiagNeverLeavesATruncatedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bericht.zip")
	var out bytes.Buffer
	if code := Diag(context.Background(), failingDiag{after: 100}, path, Options{Lang: "de", Out: &out, Err: &out}); code != ExitError {
		t.Fatalf("exit %d, want %d", code, ExitError)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("files left after a failed download: %v", entries)
	}
	if code := Diag(context.Background(), failingDiag{}, "", Options{Lang: "de", Out: &out, Err: &out}); code != ExitUsage {
		t.Errorf("missing --out gave exit %d", code)
	}
}

// sessionClient counts the starts it was asked for.
type sessionClient struct {
	fixedClient
	starts int
}

func (c *sessionClient) StartSession(context.Context, string) error { c.starts++; return nil }
func (c *sessionClient) EndSession(context.Context) error           { return nil }

// Before setup, `up` says so and asks for no code that would be wasted
// (issue 15, #3); the old one asked, and the agent then failed to read
// keys that do not exist.
func TestUpBeforeSetupSendsToSetup(t *testing.T) {
	snap := judged(state.Snapshot{Session: state.NotConnected, Enrollment: state.Enrollment{Step: "welcome"}})
	c := &sessionClient{fixedClient: fixedClient{snap: snap}}
	var out, errOut bytes.Buffer
	in := strings.NewReader("123456\n")
	code := Up(context.Background(), c, "", in, Options{Lang: "de", Out: &out, Err: &errOut})
	if code != ExitError || c.starts != 0 {
		t.Errorf("exit %d after %d starts, want %d and none", code, c.starts, ExitError)
	}
	if got := errOut.String(); !strings.Contains(got, "noch nicht eingerichtet") || strings.Contains(got, "Code") {
		t.Errorf("stderr = %q, want the setup hint and no code prompt", got)
	}
}

// Outside the working hours, with policy start_outside_office_hours off,
// `up` says when home office is possible again and asks for no code the
// agent would refuse.
func TestUpOutsideWorkingHours(t *testing.T) {
	snap := judged(state.Snapshot{Session: state.NotConnected, Enrollment: state.Enrollment{Enrolled: true, Step: "done"},
		Settings: state.Settings{List: []state.Setting{{Key: "start_outside_office_hours", Value: false, Source: "policy", Locked: true}}},
		Hours: state.Hours{Asked: true, Outside: true, NextStart: time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC), NextToday: true,
			Weekdays: []string{"mo", "di", "mi", "do", "fr"}, From: "06:00", Until: "21:00"}})
	c := &sessionClient{fixedClient: fixedClient{snap: snap}}
	var out, errOut bytes.Buffer
	code := Up(context.Background(), c, "", strings.NewReader("123456\n"), Options{Lang: "de", Out: &out, Err: &errOut})
	if code != ExitError || c.starts != 0 {
		t.Errorf("exit %d after %d starts, want %d and none", code, c.starts, ExitError)
	}
	if got := errOut.String(); !strings.Contains(got, "Außerhalb Ihrer Arbeitszeit. Ihre Arbeitszeit für Homeoffice: Mo–Fr 06:00–21:00 Uhr.") || strings.Contains(got, "Code") {
		t.Errorf("stderr = %q, want the working hours and no code prompt", got)
	}
}
