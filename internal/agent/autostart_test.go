package agent

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// judged is s with its verdict, as the store derives it.
func judged(s state.Snapshot) state.Snapshot {
	situation.Derive(&s)
	return s
}

// hoursPolicyOff is policy start_outside_office_hours off, as the
// snapshot carries it.
var hoursPolicyOff = state.Settings{List: []state.Setting{{Key: policy.KeyStartOutsideHours, Value: false, Source: "policy", Locked: true}}}

func TestAutoStartDecision(t *testing.T) {
	t.Parallel()
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	looked := state.Health{CheckedAt: time.Date(2026, 11, 30, 7, 55, 0, 0, time.UTC),
		Links: []state.Link{{Code: health.LocalNetwork, OK: true}, {Code: health.Internet, OK: true}, {Code: health.Portal, OK: true}}}
	offline := state.Health{CheckedAt: looked.CheckedAt, Links: []state.Link{{Code: health.LocalNetwork}}}
	for _, tc := range []struct {
		name string
		snap state.Snapshot
		want autoStart
	}{
		{"at_home_ready", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked}, autoStartPrompt},
		{"code_needed", state.Snapshot{Session: state.CodeNeeded, Enrollment: enrolled, Health: looked}, autoStartPrompt},
		{"in_office", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked, Office: state.Office{InOffice: true}}, autoStartNever},
		{"in_office_start_allowed", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked, Office: state.Office{InOffice: true, StartAllowed: true}}, autoStartPrompt},
		{"session_runs", state.Snapshot{Session: state.Connecting, Enrollment: enrolled, Health: looked}, autoStartNever},
		{"locked_out", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked, LockedUntil: looked.CheckedAt.Add(time.Hour)}, autoStartNever},
		{"not_set_up", state.Snapshot{Session: state.NotConnected, Enrollment: state.Enrollment{Step: "welcome"}, Health: looked}, autoStartNever},
		{"no_profile", state.Snapshot{ProfileMissing: "/etc/dienstweg/profile.json"}, autoStartNever},
		// Not yet: a code typed now would be lost or refused.
		{"keyring_not_read", state.Snapshot{Session: state.NotConnected, Health: looked}, autoStartWaitMore},
		{"health_not_looked", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled}, autoStartWaitMore},
		{"offline", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: offline}, autoStartWaitMore},
		{"helper_missing", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked,
			Tunnel: state.Tunnel{Policy: "system", Helper: state.HelperMissing}}, autoStartWaitMore},
		{"keyring_locked", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked,
			Keyring: state.Keyring{State: state.KeyringLocked, Message: &state.Message{Key: "keyring.locked"}}}, autoStartWaitMore},
		// Working hours with policy start_outside_office_hours off: never
		// outside them; wait until the portal was asked.
		{"outside_hours_policy_off", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked, Settings: hoursPolicyOff,
			Hours: state.Hours{Asked: true, Outside: true}}, autoStartNever},
		{"hours_not_asked_policy_off", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked, Settings: hoursPolicyOff}, autoStartWaitMore},
		{"inside_hours_policy_off", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked, Settings: hoursPolicyOff,
			Hours: state.Hours{Asked: true}}, autoStartPrompt},
		{"outside_hours_policy_on", state.Snapshot{Session: state.NotConnected, Enrollment: enrolled, Health: looked,
			Hours: state.Hours{Outside: true}}, autoStartPrompt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := judged(tc.snap)
			if got := autoStartFor(s); got != tc.want {
				t.Errorf("autoStartFor(%s) = %d, want %d", s.Verdict.Situation, got, tc.want)
			}
		})
	}
}

// The prompt waits for the office check's first answer and for the
// network, then opens once; later snapshots open nothing more. In the
// office it never opens, even after leaving later in the same login.
func TestAutoStartPromptsOnceAfterLogin(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	online := state.Health{CheckedAt: time.Now(), Links: []state.Link{{Code: health.LocalNetwork, OK: true}, {Code: health.Internet, OK: true}}}
	run := func(t *testing.T, inOffice bool) []string {
		store := state.NewStore(state.Snapshot{Session: state.NotConnected, Enrollment: enrolled}, nil)
		store.SetDerive(situation.Derive)
		snaps, stop := store.Subscribe()
		defer stop()
		known := make(chan struct{})
		opened := make(chan string, 4)
		done := make(chan struct{})
		go func() {
			defer close(done)
			promptOnceAfterLogin(context.Background(), snaps, known, func(w string) error { opened <- w; return nil }, quiet)
		}()
		// Health has looked, but the office check has not answered yet:
		// no prompt, however ready the rest is.
		store.Update(func(s *state.Snapshot) { s.Health = online })
		select {
		case w := <-opened:
			t.Fatalf("opened %s before the office check answered", w)
		case <-time.After(100 * time.Millisecond):
		}
		store.Update(func(s *state.Snapshot) { s.Office.InOffice = inOffice })
		close(known)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the prompt neither opened nor gave up")
		}
		// Later changes (leaving the office, the session ending) open nothing.
		store.Update(func(s *state.Snapshot) { s.Office.InOffice = false })
		close(opened)
		var got []string
		for w := range opened {
			got = append(got, w)
		}
		return got
	}
	t.Run("at_home", func(t *testing.T) {
		t.Parallel()
		if got := run(t, false); len(got) != 1 || got[0] != localapi.WindowCode {
			t.Errorf("opened %v, want the code prompt once", got)
		}
	})
	t.Run("in_office", func(t *testing.T) {
		t.Parallel()
		if got := run(t, true); len(got) != 0 {
			t.Errorf("opened %v in the office", got)
		}
	})
}

// The office check looks again when a session starts or stops running,
// and not on other changes of the session.
func TestOfficeRecheckOnSessionEdges(t *testing.T) {
	t.Parallel()
	feed := session.NewFeed(session.Status{Phase: state.NotConnected})
	states, stop := feed.Subscribe()
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	triggered := make(chan struct{}, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		triggerOnRunningEdges(ctx, states, func() { triggered <- struct{}{} })
	}()
	expect := func(what string, want bool) {
		t.Helper()
		// Generous for a check that must come, short for one that must not.
		wait := 200 * time.Millisecond
		if want {
			wait = 10 * time.Second
		}
		select {
		case <-triggered:
			if !want {
				t.Errorf("%s: checked again", what)
			}
		case <-time.After(wait):
			if want {
				t.Errorf("%s: not checked again", what)
			}
		}
	}
	expect("at start", false)
	feed.Set(session.Status{Phase: state.Connecting, Running: true}, time.Now())
	expect("session started", true)
	feed.Set(session.Status{Phase: state.Connected, Running: true}, time.Now())
	expect("connected", false)
	feed.Set(session.Status{Phase: state.NotConnected}, time.Now())
	expect("session ended", true)
	cancel()
	<-done
}
