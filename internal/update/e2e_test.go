package update_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/update"
)

// agentFlags are the fakeagent flags for fixture f.
func (f *fixture) agentFlags(t *testing.T, socket string) []string {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte(f.env.CAPEM), 0o644); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	return []string{"--socket", socket, "--dir", f.dir, "--portal", f.env.URL, "--ca", ca, "--keys", f.key.text()}
}

// startAgent runs the installed binary as an agent. It and whatever
// agent serves the socket at the end are stopped when the test ends.
func (f *fixture) startAgent(t *testing.T) (socket string, cmd *exec.Cmd) {
	t.Helper()
	sdir, err := os.MkdirTemp("", "upd")
	if err != nil {
		t.Fatalf("MkdirTemp: %v", err)
	}
	socket = filepath.Join(sdir, "agent.sock")
	logf, err := os.Create(filepath.Join(t.TempDir(), "agent.log"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	cmd = exec.Command(f.exe, append([]string{"agent"}, f.agentFlags(t, socket)...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting agent: %v", err)
	}
	t.Cleanup(func() {
		postUnix(socket, "/v1/quit")
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("agent log:\n%s", b)
		}
		os.RemoveAll(sdir)
	})
	return socket, cmd
}

func status(socket string) (state.Snapshot, error) {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}}
	var s state.Snapshot
	resp, err := hc.Get("http://agent/v1/status")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}

// publishVersion publishes bin as version, signed with f's key.
func (f *fixture) publishVersion(t *testing.T, version string, bin []byte) {
	t.Helper()
	name := "dienstweg-" + version
	raw := encode(t, manifest(version, f.env.Clock.Now(), artifact(f.key, name, bin)))
	publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{name: bin})
}

func TestRunningAgentUpdatesItself(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publishVersion(t, "0.2.0", f.v2)
	socket, v1 := f.startAgent(t)
	waitFor(t, "v1 to serve", func() bool { s, err := status(socket); return err == nil && s.Version == "0.1.0" })
	if err := postUnix(socket, "/v1/update/check"); err != nil {
		t.Fatalf("asking for a check: %v", err)
	}
	waitFor(t, "v2 to serve", func() bool { s, err := status(socket); return err == nil && s.Version == "0.2.0" })
	// The old process hands over and exits cleanly.
	if err := v1.Wait(); err != nil {
		t.Errorf("v1 after handoff: %v", err)
	}
	sameBytes(t, f.exe, f.v2, "after update")
	if got := runVersion(t, f.exe); got != "0.2.0" {
		t.Errorf("installed binary reports %q", got)
	}
	if b := readFile(t, filepath.Join(f.dir, "update-state.json")); strings.Contains(string(b), `"pending"`) {
		t.Errorf("update still pending after a healthy start: %s", b)
	}
	sameBytes(t, update.BackupPath(f.exe), f.v1, "backup")
}

func TestCrashingUpdateIsRolledBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	crashing := readFile(t, buildFake(t, "0.2.0", true, ""))
	f.publishVersion(t, "0.2.0", crashing)
	socket, _ := f.startAgent(t)
	waitFor(t, "v1 to serve", func() bool { _, err := status(socket); return err == nil })
	if err := postUnix(socket, "/v1/update/check"); err != nil {
		t.Fatalf("asking for a check: %v", err)
	}
	var snap state.Snapshot
	waitFor(t, "v1 to report the rollback", func() bool {
		s, err := status(socket)
		snap = s
		return err == nil && s.Update.Error != nil && s.Update.Error.Key == update.MessageKey(update.CodeSelfTestFailed)
	})
	if snap.Version != "0.1.0" || snap.Update.Error.Args["Version"] != "0.2.0" {
		t.Errorf("after rollback: version %q, message %+v", snap.Version, snap.Update.Error)
	}
	if len(snap.RecentErrors) == 0 {
		t.Errorf("rollback not in the recent errors")
	}
	sameBytes(t, f.exe, f.v1, "after rollback")

	// The failed release is not tried again ...
	if err := postUnix(socket, "/v1/update/check"); err != nil {
		t.Fatalf("asking for a check: %v", err)
	}
	waitFor(t, "the check to skip 0.2.0", func() bool {
		s, err := status(socket)
		return err == nil && s.Update.Error != nil && s.Update.Error.Key == update.MessageKey(update.CodeFailedBefore)
	})
	sameBytes(t, f.exe, f.v1, "after second check")

	// ... until a newer one appears.
	v3 := readFile(t, buildFake(t, "0.3.0", false, ""))
	f.publishVersion(t, "0.3.0", v3)
	if err := postUnix(socket, "/v1/update/check"); err != nil {
		t.Fatalf("asking for a check: %v", err)
	}
	waitFor(t, "v3 to serve", func() bool { s, err := status(socket); return err == nil && s.Version == "0.3.0" })
	sameBytes(t, f.exe, v3, "after v3")
}

func TestPatchUpdate(t *testing.T) {
	t.Parallel()
	bsdiff, err := exec.LookPath("bsdiff")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bsdiff is missing (scripts/deps.sh installs it): %v", err)
		}
		t.Skipf("bsdiff not installed (apt-get install bsdiff): %v", err)
	}
	for _, tc := range []struct {
		name        string
		breakPatch  bool
		wantPatched bool
	}{
		{"patch_applies", false, true},
		{"broken_patch_falls_back_to_full_download", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			dir := t.TempDir()
			v1p, v2p, pp := filepath.Join(dir, "v1"), filepath.Join(dir, "v2"), filepath.Join(dir, "patch")
			os.WriteFile(v1p, f.v1, 0o644)
			os.WriteFile(v2p, f.v2, 0o644)
			if b, err := exec.Command(bsdiff, v1p, v2p, pp).CombinedOutput(); err != nil {
				t.Fatalf("bsdiff: %v\n%s", err, b)
			}
			patch := readFile(t, pp)
			if tc.breakPatch {
				// Signed and intact, but not a patch of this binary.
				patch = append([]byte("BSDIFF40"), make([]byte, 64)...)
			}
			art := artifact(f.key, "dienstweg-0.2.0", f.v2)
			art.Patches = []update.Patch{{FromVersion: "0.1.0", FromSHA256: sha(f.v1), File: "dienstweg-0.1.0-0.2.0.bsdiff", Size: int64(len(patch)), SHA256: sha(patch)}}
			raw := encode(t, manifest("0.2.0", f.env.Clock.Now(), art))
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2, "dienstweg-0.1.0-0.2.0.bsdiff": patch})
			u := f.updater(t, nil, nil)
			ctx := context.Background()
			rel, err := u.Check(ctx)
			if err != nil || rel == nil {
				t.Fatalf("Check = %v, %v", rel, err)
			}
			events := u.Events()
			defer events.Close()
			progress := make(chan update.Progress, 1024)
			st, err := u.Download(ctx, rel, progress)
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			if st.Patched != tc.wantPatched {
				t.Errorf("Patched = %v, want %v", st.Patched, tc.wantPatched)
			}
			close(progress)
			var last update.Progress
			for p := range progress {
				last = p
			}
			if last.Total == 0 || last.Done != last.Total {
				t.Errorf("last progress = %+v, want a complete download", last)
			}
			if s := u.Status(); s.State != update.StateReady || s.Available != "0.2.0" || s.Progress != 1 {
				t.Errorf("state = %+v, want ready 0.2.0", s)
			}
			// "Ready" is an edge its followers must not miss, whatever
			// states the status passed through.
			if got := events.Take(); len(got) != 1 || got[0] != (update.Event{Kind: update.EventReady, Version: "0.2.0"}) {
				t.Errorf("events = %+v, want one EventReady 0.2.0", got)
			}
			// Asking for the same build again shows it as ready; it
			// became ready once, so no second event.
			if _, err := u.Download(ctx, rel, nil); err != nil {
				t.Fatalf("second Download: %v", err)
			}
			if got := events.Take(); len(got) != 0 {
				t.Errorf("events after downloading the staged build again = %+v, want none", got)
			}
			if _, err := u.InstallNow(ctx); err != nil {
				t.Fatalf("InstallNow: %v", err)
			}
			sameBytes(t, f.exe, f.v2, "after patch update")
			if got := runVersion(t, f.exe); got != "0.2.0" {
				t.Errorf("patched binary reports %q", got)
			}
		})
	}
}

// TestKillDuringInstall kills the installing process with SIGKILL at each
// step of Install. The binary must always be a complete v1 or v2 that
// runs, and the next start must sort out the pending record.
func TestKillDuringInstall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		step string
		want string // version installed afterwards
	}{
		{"recorded", "0.1.0"},
		{"prepared", "0.1.0"},
		{"backed_up", "0.1.0"},
		{"committed", "0.2.0"},
	} {
		t.Run(tc.step, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.publishVersion(t, "0.2.0", f.v2)
			args := append([]string{"install", "--stop-at", tc.step}, f.agentFlags(t, "unused")...)
			cmd := exec.Command(f.exe, args...)
			out, _ := os.Create(filepath.Join(t.TempDir(), "log"))
			defer out.Close()
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatalf("start: %v", err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			reached := filepath.Join(f.dir, "reached-"+tc.step)
			waitFor(t, "checkpoint "+tc.step, func() bool {
				select {
				case err := <-exited:
					b, _ := os.ReadFile(out.Name())
					t.Fatalf("installer exited before %s: %v\n%s", tc.step, err, b)
				default:
				}
				_, err := os.Stat(reached)
				return err == nil
			})
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill: %v", err)
			}
			<-exited
			want := f.v1
			if tc.want == "0.2.0" {
				want = f.v2
			}
			sameBytes(t, f.exe, want, "after kill at "+tc.step)
			if got := runVersion(t, f.exe); got != tc.want {
				t.Fatalf("binary after kill reports %q, want %q", got, tc.want)
			}
			res, err := update.Startup(f.dir, tc.want, nil, nil)
			if err != nil || res.Reexec {
				t.Fatalf("Startup = %+v, %v", res, err)
			}
			rec := string(readFile(t, filepath.Join(f.dir, "update-state.json")))
			if pending := strings.Contains(rec, `"pending"`); pending != (tc.want == "0.2.0") {
				t.Errorf("pending record after start of %s: %s", tc.want, rec)
			}
			if tc.want == "0.1.0" {
				if _, err := os.Stat(filepath.Join(filepath.Dir(f.exe), ".dienstweg.new")); err == nil {
					t.Errorf("stale .new file left after start")
				}
			}
		})
	}
}

// TestUnconfirmedStartsRollBack covers a new version that keeps failing
// after the supervising old process is gone: the start after
// MaxUnconfirmedStarts restores the old binary.
func TestUnconfirmedStartsRollBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publishVersion(t, "0.2.0", f.v2)
	u := f.updater(t, nil, nil)
	ctx := context.Background()
	if _, err := checkAndDownload(ctx, u); err != nil {
		t.Fatalf("download: %v", err)
	}
	if _, err := u.InstallNow(ctx); err != nil {
		t.Fatalf("InstallNow: %v", err)
	}
	for i := range update.MaxUnconfirmedStarts {
		res, err := update.Startup(f.dir, "0.2.0", nil, nil)
		if err != nil || res.Reexec {
			t.Fatalf("start %d: %+v, %v", i+1, res, err)
		}
	}
	res, err := update.Startup(f.dir, "0.2.0", nil, nil)
	if err != nil || !res.Reexec || res.Exe != f.exe || res.RolledBack == nil || res.RolledBack.Version != "0.2.0" {
		t.Fatalf("start %d: %+v, %v; want a rollback", update.MaxUnconfirmedStarts+1, res, err)
	}
	sameBytes(t, f.exe, f.v1, "after rollback at start")
	// The restored version tells the employee and skips 0.2.0.
	f.sessions = session.NewFeed(session.Status{Phase: state.NotConnected})
	u = f.updater(t, nil, nil)
	if e := u.Status().Error; e == nil || e.Key != update.MessageKey(update.CodeSelfTestFailed) {
		t.Errorf("after restart: %+v", u.Status())
	}
	if _, err := u.Check(ctx); update.CodeOf(err) != update.CodeFailedBefore {
		t.Errorf("Check after rollback = %v, want %s", err, update.CodeFailedBefore)
	}
}
