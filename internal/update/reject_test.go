package update_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/update"
)

// fixture is a running portal, a signing key, v1 installed and an
// updater for it.
type fixture struct {
	// last is the updater made last; it owns the update status the
	// tests read.
	last *update.Updater
	env  *portaltest.Env
	key  keyPair
	v1   []byte
	v2   []byte
	exe  string
	dir  string
	// sessions stands in for the home-office session.
	sessions *session.Feed
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{env: portaltest.Start(t, portaltest.Options{}), key: newKey(t), dir: t.TempDir()}
	v1 := buildFake(t, "0.1.0", false, "")
	f.v1, f.v2 = readFile(t, v1), readFile(t, buildFake(t, "0.2.0", false, ""))
	f.exe = install(t, v1)
	f.sessions = session.NewFeed(session.Status{Phase: state.NotConnected})
	return f
}

// startSession brings a home-office session up, as the controller tells
// it: the status first, then the event.
func (f *fixture) startSession() {
	f.sessions.Set(session.Status{Phase: state.Connected, Running: true}, f.env.Clock.Now())
	f.sessions.Emit(session.Event{Kind: session.Started, At: f.env.Clock.Now()})
}

// endSession ends the session.
func (f *fixture) endSession() {
	f.sessions.Set(session.Status{Phase: state.NotConnected}, f.env.Clock.Now())
	f.sessions.Emit(session.Event{Kind: session.Ended, At: f.env.Clock.Now()})
}

func (f *fixture) updater(t *testing.T, src update.Source, mod func(*update.Config)) *update.Updater {
	t.Helper()
	if src == nil {
		src = f.env.Client(t, nil)
	}
	cfg := update.Config{
		Source: src, Sessions: f.sessions, Report: func(state.Message) {}, Keys: []string{f.key.text()}, Version: "0.1.0",
		DeviceID: []byte("device-1"), Exe: f.exe, Dir: f.dir, Now: f.env.Clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	u, err := update.New(cfg)
	if err != nil {
		t.Fatalf("update.New: %v", err)
	}
	f.last = u
	return u
}

// checkAndDownload runs one update round without installing.
func checkAndDownload(ctx context.Context, u *update.Updater) (*update.Staged, error) {
	rel, err := u.Check(ctx)
	if err != nil || rel == nil {
		return nil, err
	}
	return u.Download(ctx, rel, nil)
}

func TestRejectedUpdatesLeaveBinaryUnchanged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// release publishes a bad release; it may return a different
		// source (e.g. through a proxy).
		release func(t *testing.T, f *fixture) update.Source
		code    update.Code
		// inMessage must appear in the error text (the log's clear message).
		inMessage string
	}{
		{"tampered_binary", func(t *testing.T, f *fixture) update.Source {
			m := manifest("0.2.0", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.2.0", f.v2))
			raw := encode(t, m)
			bad := append([]byte(nil), f.v2...)
			bad[len(bad)/2] ^= 0xff
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": bad})
			return nil
		}, update.CodeHashMismatch, "SHA-256"},
		{"wrong_binary_signature", func(t *testing.T, f *fixture) update.Source {
			art := artifact(f.key, "dienstweg-0.2.0", f.v2)
			art.Minisig = string(f.key.sign(f.v1))
			raw := encode(t, manifest("0.2.0", f.env.Clock.Now(), art))
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2})
			return nil
		}, update.CodeBinarySignature, "does not verify"},
		{"manifest_signed_with_unknown_key", func(t *testing.T, f *fixture) update.Source {
			other := newKey(t)
			raw := encode(t, manifest("0.2.0", f.env.Clock.Now(), artifact(other, "dienstweg-0.2.0", f.v2)))
			publish(t, f.env, raw, other.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2})
			return nil
		}, update.CodeUnknownKey, "not among"},
		{"manifest_wrong_signature", func(t *testing.T, f *fixture) update.Source {
			raw := encode(t, manifest("0.2.0", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.2.0", f.v2)))
			sig := f.key.sign(raw)
			raw = []byte(strings.Replace(string(raw), `"rollout_percent": 100`, `"rollout_percent": 99`, 1))
			publish(t, f.env, raw, sig, map[string][]byte{"dienstweg-0.2.0": f.v2})
			return nil
		}, update.CodeBadSignature, "does not verify"},
		{"expired_manifest", func(t *testing.T, f *fixture) update.Source {
			m := manifest("0.2.0", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.2.0", f.v2))
			m.Expires = f.env.Clock.Now().Add(-time.Minute)
			raw := encode(t, m)
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2})
			return nil
		}, update.CodeExpired, "expired"},
		{"downgrade", func(t *testing.T, f *fixture) update.Source {
			raw := encode(t, manifest("0.0.9", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.0.9", f.v2)))
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.0.9": f.v2})
			return nil
		}, update.CodeDowngrade, "older than the running 0.1.0"},
		{"truncated_download", func(t *testing.T, f *fixture) update.Source {
			raw := encode(t, manifest("0.2.0", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.2.0", f.v2)))
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2})
			// The line drops after half the binary.
			addr := cutProxy(t, strings.TrimPrefix(f.env.URL, "https://"), int64(len(f.v2)/2))
			return f.env.Client(t, func(c *portal.Config) { c.BaseURL = "https://" + addr })
		}, update.CodeTruncated, "broke off"},
		{"size_mismatch", func(t *testing.T, f *fixture) update.Source {
			art := artifact(f.key, "dienstweg-0.2.0", f.v2)
			art.Size += 4096
			raw := encode(t, manifest("0.2.0", f.env.Clock.Now(), art))
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": f.v2})
			return nil
		}, update.CodeSizeMismatch, "announces"},
		{"no_build_for_platform", func(t *testing.T, f *fixture) update.Source {
			m := manifest("0.2.0", f.env.Clock.Now(), update.Artifact{})
			m.Platforms = map[string]update.Artifact{"windows/amd64": artifact(f.key, "dienstweg-0.2.0.exe", f.v2)}
			raw := encode(t, m)
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0.exe": f.v2})
			return nil
		}, update.CodeNoPlatform, "no build for"},
		{"build_of_other_platform", func(t *testing.T, f *fixture) update.Source {
			other := "windows"
			if runtime.GOOS == "windows" {
				other = "linux"
			}
			exe := readFile(t, buildFake(t, "0.2.0", false, other))
			raw := encode(t, manifest("0.2.0", f.env.Clock.Now(), artifact(f.key, "dienstweg-0.2.0", exe)))
			publish(t, f.env, raw, f.key.sign(raw), map[string][]byte{"dienstweg-0.2.0": exe})
			return nil
		}, update.CodeWrongPlatform, "executable for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			src := tc.release(t, f)
			u := f.updater(t, src, nil)
			ctx := context.Background()
			st, err := checkAndDownload(ctx, u)
			if got := update.CodeOf(err); got != tc.code {
				t.Fatalf("update round = %v, want code %q", err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.inMessage) {
				t.Errorf("message %q does not say %q", err, tc.inMessage)
			}
			if st != nil {
				t.Errorf("a rejected release was staged: %+v", st)
			}
			snap := state.Snapshot{Update: u.Status()}
			if tc.code == update.CodeDowngrade {
				if snap.Update.State != update.StateUpToDate || snap.Update.Error != nil {
					t.Errorf("state after downgrade offer = %+v, want quiet up_to_date", snap.Update)
				}
			} else if snap.Update.State != update.StateError || snap.Update.Error == nil || snap.Update.Error.Key != update.MessageKey(tc.code) {
				t.Errorf("state = %+v, want error %s", snap.Update, update.MessageKey(tc.code))
			}
			if _, err := u.InstallNow(ctx); update.CodeOf(err) != update.CodeNothingToInstall {
				t.Errorf("InstallNow after rejection = %v", err)
			}
			sameBytes(t, f.exe, f.v1, tc.name)
			left, _ := filepath.Glob(filepath.Join(f.dir, "updates", "*"))
			if len(left) > 0 {
				t.Errorf("left in staging: %v", left)
			}
		})
	}
}
