package update_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/update"
)

// TestRealAppUpdate updates the real dienstweg binary from 0.1.0 to 0.2.0
// and runs the post-update self-test against the real agent's local API.
func TestRealAppUpdate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real app twice")
	}
	t.Parallel()
	v1, v2 := readFile(t, buildApp(t, "0.1.0")), readFile(t, buildApp(t, "0.2.0"))
	f := newFixture(t)
	f.v1, f.v2 = v1, v2
	if err := os.WriteFile(f.exe, v1, 0o755); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	f.publishVersion(t, "0.2.0", v2)
	var installed *update.Installed
	u := f.updater(t, nil, func(c *update.Config) { c.Restart = func(i *update.Installed) { installed = i } })
	ctx := context.Background()
	if _, err := checkAndDownload(ctx, u); err != nil {
		t.Fatalf("update round: %v", err)
	}
	// No session is up: the default plan installs without asking.
	if p, ok := u.Plan(); !ok || p.Ask || p.Default != update.ChoiceAtSessionEnd {
		t.Errorf("Plan = %+v, %v", p, ok)
	}
	if _, err := u.InstallNow(ctx); err != nil {
		t.Fatalf("InstallNow: %v", err)
	}
	if installed == nil || installed.Version != "0.2.0" {
		t.Fatalf("Restart hook got %+v", installed)
	}
	if got := runVersion(t, f.exe); got != "0.2.0" {
		t.Fatalf("installed app reports %q", got)
	}

	// The self-test: the new agent must answer on its local API.
	home, err := os.MkdirTemp("", "upd-app")
	if err != nil {
		t.Fatalf("MkdirTemp: %v", err)
	}
	defer os.RemoveAll(home)
	rt := filepath.Join(home, "rt")
	os.Mkdir(rt, 0o700)
	socket := filepath.Join(rt, "agent.sock")
	logf, _ := os.Create(filepath.Join(home, "agent.log"))
	defer logf.Close()
	env := append(os.Environ(), "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_RUNTIME_DIR="+rt,
		"LANG=C.UTF-8", "DISPLAY=", "WAYLAND_DISPLAY=",
		// No session bus: the agent runs without a tray and spawns no bus.
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(home, "nobus"))
	// The agent needs a profile; the fixture's portal will do.
	prof, err := json.Marshal(profile.Profile{Organisation: "Stadt Teststadt", PortalURL: f.env.URL, PortalCA: f.env.CAPEM,
		OfficeDNSName: "intranet.teststadt.example"})
	if err != nil {
		t.Fatal(err)
	}
	profilePath := filepath.Join(home, "profile.json")
	if err := os.WriteFile(profilePath, prof, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := update.Handoff(ctx, installed, update.HandoffOptions{
		Args: []string{"agent", "--profile", profilePath, "--socket", socket}, Env: env,
		Probe: update.StatusProbe(socket), Dir: f.dir, Stdout: logf, Stderr: logf,
	})
	if res.Pid > 0 {
		defer func() {
			postUnix(socket, "/v1/quit")
			if p, err := os.FindProcess(res.Pid); err == nil {
				p.Kill()
			}
		}()
	}
	if err != nil || !res.Healthy {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("Handoff = %+v, %v\n%s", res, err, b)
	}
	sameBytes(t, f.exe, v2, "after self-test")
}
