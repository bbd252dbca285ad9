package update_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/update"
)

// runUpdater runs u's background loop until the test ends. The returned
// function waits until the loop has acted on a session event for which
// cond holds.
func runUpdater(t *testing.T, u *update.Updater) (handled func(what string, cond func(session.Event) bool)) {
	t.Helper()
	seen := make(chan session.Event, 16)
	update.SetEventHook(u, func(e session.Event) { seen <- e })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return func(what string, cond func(session.Event) bool) {
		t.Helper()
		deadline := time.After(3 * time.Minute) // only keeps a broken test from hanging
		for {
			select {
			case s := <-seen:
				if cond(s) {
					return
				}
			case <-deadline:
				t.Fatalf("gave up waiting for the updater to handle %s", what)
			}
		}
	}
}

func waitUpdate(t *testing.T, f *fixture, what string, cond func(state.Update) bool) state.Update {
	t.Helper()
	var got state.Update
	waitFor(t, what, func() bool { got = f.last.Status(); return cond(got) })
	return got
}

func staging(t *testing.T, f *fixture) []string {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(f.dir, "updates", "*"))
	if err != nil {
		t.Fatalf("Glob: %v", err)
	}
	return left
}

// staged020 publishes 0.2.0 and stages it with a new updater that reads
// the portal through wrap(client), or the client itself if wrap is nil.
func staged020(t *testing.T, wrap func(update.Source) update.Source) (*fixture, *update.Updater) {
	t.Helper()
	f := newFixture(t)
	f.publishVersion(t, "0.2.0", f.v2)
	var src update.Source = f.env.Client(t, nil)
	if wrap != nil {
		src = wrap(src)
	}
	u := f.updater(t, src, nil)
	if _, err := checkAndDownload(context.Background(), u); err != nil {
		t.Fatalf("staging 0.2.0: %v", err)
	}
	if _, ok := u.Plan(); !ok {
		t.Fatalf("0.2.0 not staged")
	}
	return f, u
}

// noInstall fails if the updater installed anything.
func noInstall(t *testing.T, installs <-chan *update.Installed, when string) {
	t.Helper()
	select {
	case i := <-installs:
		t.Errorf("installed the withdrawn %s %s", i.Version, when)
	default:
	}
}

// sessionWithReadyUpdate runs an updater while a home-office session is
// up, lets it download 0.2.0 and answers "at the end of the session".
// installs receives what it installs.
func sessionWithReadyUpdate(t *testing.T) (f *fixture, u *update.Updater, installs chan *update.Installed, handled func(string, func(session.Event) bool)) {
	t.Helper()
	f = newFixture(t)
	f.startSession()
	f.publishVersion(t, "0.2.0", f.v2)
	installs = make(chan *update.Installed, 1)
	u = f.updater(t, nil, func(c *update.Config) {
		c.Restart = func(i *update.Installed) { installs <- i }
		c.FirstCheck = 24 * time.Hour // only the checks the test asks for
	})
	handled = runUpdater(t, u)
	u.CheckNow()
	waitUpdate(t, f, "0.2.0 to be ready", func(s state.Update) bool { return s.State == update.StateReady && s.Available == "0.2.0" })
	if p, ok := u.Plan(); !ok || !p.Ask || p.Version != "0.2.0" {
		t.Fatalf("Plan during the session = %+v, %v; want to ask about 0.2.0", p, ok)
	}
	if err := u.Choose(context.Background(), update.ChoiceAtSessionEnd); err != nil {
		t.Fatalf("Choose: %v", err)
	}
	return f, u, installs, handled
}

// endSession ends the session and waits until the updater has handled it.
func endSession(t *testing.T, f *fixture, handled func(string, func(session.Event) bool)) {
	t.Helper()
	f.endSession()
	handled("the end of the session", func(e session.Event) bool { return e.Kind == session.Ended })
}

// TestWithdrawnReleaseIsNotInstalledAtSessionEnd is the story of issue 13:
// 0.2.0 is downloaded during a home-office session and waits for its end;
// IT withdraws it by re-publishing 0.1.0; the client says "up to date" and
// must then not install 0.2.0 when the session ends.
func TestWithdrawnReleaseIsNotInstalledAtSessionEnd(t *testing.T) {
	t.Parallel()
	f, u, installed, handled := sessionWithReadyUpdate(t)
	ctx := context.Background()

	// IT withdraws 0.2.0.
	f.publishVersion(t, "0.1.0", f.v1)
	u.CheckNow()
	got := waitUpdate(t, f, "the check after the withdrawal", func(s state.Update) bool {
		return s.State != update.StateReady && s.State != update.StateChecking
	})
	if got.State != update.StateUpToDate || got.Error != nil || got.Available != "" || got.Chosen != "" {
		t.Errorf("state after the withdrawal = %+v, want a quiet up_to_date", got)
	}
	if p, ok := u.Plan(); ok {
		t.Errorf("Plan after the withdrawal = %+v; nothing should be waiting", p)
	}
	if left := staging(t, f); len(left) > 0 {
		t.Errorf("withdrawn release still staged: %v", left)
	}
	if err := u.Choose(ctx, update.ChoiceAtSessionEnd); update.CodeOf(err) != update.CodeNothingToInstall {
		t.Errorf("Choose after the withdrawal = %v, want %s", err, update.CodeNothingToInstall)
	}

	// The session ends: nothing may install.
	endSession(t, f, handled)
	noInstall(t, installed, "at the end of the session")
	sameBytes(t, f.exe, f.v1, "after the session")
	if b, err := os.ReadFile(filepath.Join(f.dir, "update-state.json")); err == nil && strings.Contains(string(b), `"pending"`) {
		t.Errorf("an install is pending: %s", b)
	}
}

// TestWithdrawalBeforeTheNextCheckIsHonoured: IT withdraws 0.2.0 after
// the check that staged it, and no background check runs before the
// session ends. The portal is asked again before installing.
func TestWithdrawalBeforeTheNextCheckIsHonoured(t *testing.T) {
	t.Parallel()
	f, u, installs, handled := sessionWithReadyUpdate(t)
	f.publishVersion(t, "0.1.0", f.v1)
	endSession(t, f, handled)
	noInstall(t, installs, "at the end of the session")
	sameBytes(t, f.exe, f.v1, "after the session")
	if s := f.last.Status(); s.State != update.StateUpToDate {
		t.Errorf("state = %+v, want up_to_date", s)
	}
	if p, ok := u.Plan(); ok {
		t.Errorf("Plan = %+v after the withdrawal", p)
	}
}

// TestInstallNowAsksThePortalFirst: "install now", clicked hours after the
// download, must not install what IT has withdrawn meanwhile.
func TestInstallNowAsksThePortalFirst(t *testing.T) {
	t.Parallel()
	f, u, installs, _ := sessionWithReadyUpdate(t)
	f.publishVersion(t, "0.1.0", f.v1)
	if err := u.Choose(context.Background(), update.ChoiceNow); update.CodeOf(err) != update.CodeNothingToInstall {
		t.Errorf("Choose(now) after the withdrawal = %v, want %s", err, update.CodeNothingToInstall)
	}
	noInstall(t, installs, "on install now")
	sameBytes(t, f.exe, f.v1, "after install now")
}

// TestStagedReleaseInstallsAtSessionEnd: with nothing withdrawn, the end
// of the session installs the staged release (after asking the portal).
func TestStagedReleaseInstallsAtSessionEnd(t *testing.T) {
	t.Parallel()
	f, _, installs, handled := sessionWithReadyUpdate(t)
	endSession(t, f, handled)
	select {
	case i := <-installs:
		if i.Version != "0.2.0" {
			t.Errorf("installed %s, want 0.2.0", i.Version)
		}
	default:
		t.Fatalf("nothing installed at the end of the session; state %+v", f.last.Status())
	}
	sameBytes(t, f.exe, f.v2, "after the session")
}

// withdrawable serves the real portal's channel until withdrawn, then
// answers like a portal with nothing published.
type withdrawable struct {
	update.Source
	withdrawn bool
}

func (w *withdrawable) ReleaseManifest(ctx context.Context, channel string) (*portal.Release, error) {
	if w.withdrawn {
		return nil, portal.ErrNotFound
	}
	return w.Source.ReleaseManifest(ctx, channel)
}

// offline fails every call, like a home line that is down.
type offline struct{ update.Source }

func (offline) ReleaseManifest(context.Context, string) (*portal.Release, error) {
	return nil, errors.New("dial tcp: network is unreachable")
}

func (offline) OpenReleaseFile(context.Context, string, string) (io.ReadCloser, int64, error) {
	return nil, 0, errors.New("dial tcp: network is unreachable")
}

// TestCheckDropsStagedReleaseNoLongerOffered stages 0.2.0 and then lets IT
// change what the channel offers. Whatever the next check concludes, a
// release the portal no longer offers must not install.
func TestCheckDropsStagedReleaseNoLongerOffered(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// change alters the channel after 0.2.0 was staged.
		change func(t *testing.T, f *fixture, src *withdrawable)
		state  string
		code   update.Code
	}{
		{"same_version_republished_as_up_to_date", func(t *testing.T, f *fixture, _ *withdrawable) {
			f.publishVersion(t, "0.1.0", f.v1)
		}, update.StateUpToDate, ""},
		{"downgrade", func(t *testing.T, f *fixture, _ *withdrawable) {
			f.publishVersion(t, "0.0.9", f.v1)
		}, update.StateUpToDate, update.CodeDowngrade},
		{"rollout_now_excludes_device", func(t *testing.T, f *fixture, _ *withdrawable) {
			m := manifest("0.2.0", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.2.0", f.v2))
			m.RolloutPercent = 0
			raw := encode(t, m)
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2})
		}, update.StateUpToDate, ""},
		{"manifest_withdrawn", func(t *testing.T, f *fixture, src *withdrawable) {
			src.withdrawn = true
		}, update.StateUpToDate, ""},
		{"manifest_for_another_channel", func(t *testing.T, f *fixture, _ *withdrawable) {
			m := manifest("0.2.0", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.2.0", f.v2))
			m.Channel = "beta"
			raw := encode(t, m)
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2})
		}, update.StateError, update.CodeWrongChannel},
		{"build_for_this_platform_removed", func(t *testing.T, f *fixture, _ *withdrawable) {
			m := manifest("0.2.0", f.env.Clock.Now(), update.Artifact{})
			m.Platforms = map[string]update.Artifact{"plan9/amd64": artifact(f.key, "dienstweg-0.2.0", f.v2)}
			raw := encode(t, m)
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2})
		}, update.StateError, update.CodeNoPlatform},
		{"manifest_no_longer_verifies", func(t *testing.T, f *fixture, _ *withdrawable) {
			other := newKey(t)
			raw := encode(t, manifest("0.2.0", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.2.0", f.v2)))
			publish(t, f.env, raw, other.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2})
		}, update.StateError, update.CodeUnknownKey},
		{"newer_version_whose_download_fails", func(t *testing.T, f *fixture, _ *withdrawable) {
			v3 := append(append([]byte(nil), f.v2...), "0.3.0"...)
			raw := encode(t, manifest("0.3.0", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.3.0", v3)))
			bad := append([]byte(nil), v3...)
			bad[len(bad)/2] ^= 0xff
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.3.0": bad})
		}, update.StateError, update.CodeHashMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var src *withdrawable
			f, u := staged020(t, func(c update.Source) update.Source { src = &withdrawable{Source: c}; return src })
			ctx := context.Background()

			tc.change(t, f, src)
			_, err := checkAndDownload(ctx, u)
			if update.CodeOf(err) != tc.code {
				t.Fatalf("update round after the change = %v, want code %q", err, tc.code)
			}
			if s := f.last.Status(); s.State != tc.state || s.Available != "" {
				t.Errorf("state = %+v, want %s", s, tc.state)
			}
			if p, ok := u.Plan(); ok {
				t.Errorf("Plan = %+v; the staged 0.2.0 is no longer offered", p)
			}
			if _, err := u.InstallNow(ctx); update.CodeOf(err) != update.CodeNothingToInstall {
				t.Errorf("InstallNow = %v, want %s", err, update.CodeNothingToInstall)
			}
			sameBytes(t, f.exe, f.v1, tc.name)
			if left := staging(t, f); len(left) > 0 {
				t.Errorf("left in staging: %v", left)
			}
		})
	}
}

// TestRepublishedBuildReplacesStagedOne: IT re-publishes 0.2.0 with a
// fixed binary under the same version. The check must stage the new
// build, not keep the one downloaded before.
func TestRepublishedBuildReplacesStagedOne(t *testing.T) {
	t.Parallel()
	f, u := staged020(t, nil)
	ctx := context.Background()
	// Still an executable for this platform: bytes after the ELF image.
	fixed := append(append([]byte(nil), f.v2...), "rebuilt"...)
	f.publishVersion(t, "0.2.0", fixed)
	st, err := checkAndDownload(ctx, u)
	if err != nil {
		t.Fatalf("update round after the rebuild: %v", err)
	}
	if got := readFile(t, st.Path); sha(got) != sha(fixed) {
		t.Errorf("staged %s is the old build, want the re-published one", st.Path)
	}
	if _, err := u.InstallNow(ctx); err != nil {
		t.Fatalf("InstallNow: %v", err)
	}
	sameBytes(t, f.exe, fixed, "after installing the rebuilt 0.2.0")
}

// TestUnansweredCheckKeepsStagedRelease: a check that never reached the
// portal concludes nothing; the staged release and the employee's answer
// stay, and a later check of the same release shows the answer again.
func TestUnansweredCheckKeepsStagedRelease(t *testing.T) {
	t.Parallel()
	var src *struct{ update.Source }
	f, u := staged020(t, func(c update.Source) update.Source { src = &struct{ update.Source }{c}; return src })
	f.startSession()
	ctx := context.Background()
	if err := u.Choose(ctx, update.ChoiceAtSessionEnd); err != nil {
		t.Fatalf("Choose: %v", err)
	}

	online := src.Source
	src.Source = offline{}
	if _, err := u.Check(ctx); update.CodeOf(err) != update.CodeCheckFailed {
		t.Fatalf("Check offline = %v, want %s", err, update.CodeCheckFailed)
	}
	if p, ok := u.Plan(); !ok || p.Version != "0.2.0" || p.Chosen != update.ChoiceAtSessionEnd {
		t.Errorf("Plan after an unanswered check = %+v, %v; want 0.2.0 at session end", p, ok)
	}

	src.Source = online
	if _, err := checkAndDownload(ctx, u); err != nil {
		t.Fatalf("update round back online: %v", err)
	}
	s := f.last.Status()
	if s.State != update.StateReady || s.Chosen != string(update.ChoiceAtSessionEnd) {
		t.Errorf("state after re-checking the same release = %+v; the answer %q was forgotten", s, update.ChoiceAtSessionEnd)
	}
}

// TestLeftoverDownloadsAreRemovedAtStart: files a previous run left in
// the staging directory (another version, another platform, a download
// cut off by a kill) are removed when the updater starts; nothing from
// an earlier run is ever installed without a new check.
func TestLeftoverDownloadsAreRemovedAtStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dir := filepath.Join(f.dir, "updates")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("MkdirAll: %v", err)
	}
	for name, b := range map[string][]byte{
		"dienstweg-0.2.0":              f.v2,
		"dienstweg-0.2.0.exe":          f.v2,
		"dienstweg-0.3.0.unverified":   f.v2[:100],
		"dienstweg-0.1.0-0.2.0.bsdiff": []byte("BSDIFF40"),
		"dienstweg-0.2.0.minisig":      []byte("untrusted comment: x\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
	}
	u := f.updater(t, nil, func(c *update.Config) { c.FirstCheck = 24 * time.Hour })
	runUpdater(t, u)
	waitFor(t, "the leftovers to be removed", func() bool { return len(staging(t, f)) == 0 })
	if p, ok := u.Plan(); ok {
		t.Errorf("Plan after start = %+v; nothing was checked yet", p)
	}
}
