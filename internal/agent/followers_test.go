package agent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// recordingNotifier keeps every notification.
type recordingNotifier struct {
	mu   sync.Mutex
	got  []announce.Notification
	sent chan struct{}
}

func newRecordingNotifier() *recordingNotifier {
	return &recordingNotifier{sent: make(chan struct{}, 16)}
}

func (r *recordingNotifier) Notify(_ context.Context, n announce.Notification) error {
	r.mu.Lock()
	r.got = append(r.got, n)
	r.mu.Unlock()
	r.sent <- struct{}{}
	return nil
}

// newTestAgent is an agent that is built but not run, with an in-memory
// keyring and a recording notifier.
func newTestAgent(tb testing.TB) (*Agent, *recordingNotifier) {
	tb.Helper()
	_, prof := testProfile(tb)
	n := newRecordingNotifier()
	a, err := New(Options{Profile: prof, Lang: "de", SocketPath: socketPath(tb), UIExe: uiBinary, Keyring: keyring.NewMem(),
		NoWizardAtStart: true, StateDir: tb.TempDir(), CacheDir: tb.TempDir(), Notifier: n,
		Session: switchSession{store: func() *state.Store { return nil }}})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return a, n
}

// The expiry follower starts from the state at subscription, not from
// whatever it reads first: the session may start and expire before its
// goroutine runs (TestExpiryNotifiesOnce failed 2 of 10 runs so), and the
// mailbox then holds only the expiry.
func TestExpiryBeforeFollowerRunsIsTold(t *testing.T) {
	a, n := newTestAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snaps, stop := a.store.Subscribe()
	atStart := <-snaps // as Run does, before the API serves
	a.store.Update(func(s *state.Snapshot) { s.Session = state.Connected })
	a.store.Update(func(s *state.Snapshot) {
		s.Session, s.Detail = state.CodeNeeded, &state.Message{Key: "session.expired"}
	})
	done := make(chan struct{})
	go func() { defer close(done); a.followSession(ctx, atStart, snaps, stop) }()
	select {
	case <-n.sent:
	case <-ctx.Done():
		t.Fatal("an expiry that happened before the follower ran was never told")
	}
	cancel()
	<-done
}

// An expiry that was already there when the agent started is not told.
func TestExpiryAtStartIsNotTold(t *testing.T) {
	a, n := newTestAgent(t)
	a.store.Update(func(s *state.Snapshot) {
		s.Session, s.Detail = state.CodeNeeded, &state.Message{Key: "session.expired"}
	})
	ctx, cancel := context.WithCancel(context.Background())
	snaps, stop := a.store.Subscribe()
	atStart := <-snaps
	done := make(chan struct{})
	go func() { defer close(done); a.followSession(ctx, atStart, snaps, stop) }()
	a.store.Update(func(s *state.Snapshot) { s.SafeMode = true }) // another change, same expiry
	select {
	case <-n.sent:
		t.Error("an old expiry was told again")
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	<-done
}

// When a wizard action returns, the state says what the wizard says: a
// window that saw a step must not read an older one from the status.
// Nothing else runs here, so this does not depend on a follower's timing.
func TestEnrollActionUpdatesStateBeforeReturning(t *testing.T) {
	a, _ := newTestAgent(t)
	ctx := context.Background()
	m, err := enroll.New(ctx, enroll.Config{Portal: a.portal, Keyring: a.opts.Keyring, StateDir: a.opts.StateDir, Logger: a.log})
	if err != nil {
		t.Fatalf("enroll.New: %v", err)
	}
	a.setWizard(m)
	v, err := a.Enroll(ctx, localapi.EnrollAction{Action: localapi.EnrollNext})
	if err != nil || v.Step != enroll.StepSignIn {
		t.Fatalf("Enroll(next) = %s, %v", v.Step, err)
	}
	if got := a.Snapshot().Enrollment.Step; got != string(enroll.StepSignIn) {
		t.Fatalf("state after the action: step %q, want %q", got, enroll.StepSignIn)
	}
	// An older view arriving late (a follower that read it before the
	// action finished) does not put the older step back.
	old := v
	old.Seq, old.Step = 0, enroll.StepWelcome
	a.mirrorEnrollment(old)
	if got := a.Snapshot().Enrollment.Step; got != string(enroll.StepSignIn) {
		t.Fatalf("an older view replaced the state: step %q", got)
	}
}
