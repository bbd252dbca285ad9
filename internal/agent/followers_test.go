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
	"github.com/dienstweg/dienstweg/internal/session"
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
// keyring, a recording notifier and a stand-in session.
func newTestAgent(tb testing.TB) (*Agent, *recordingNotifier) {
	tb.Helper()
	_, prof := testProfile(tb)
	n := newRecordingNotifier()
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socketPath(tb), UIExe: uiBinary, StateDir: tb.TempDir(), CacheDir: tb.TempDir()},
		Deps:         Deps{Keyring: keyring.NewMem(), Notifier: n, Session: newSwitchSession()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return a, n
}

// The expiry follower is told by events, which do not collapse: a session
// that starts and expires before the follower's goroutine runs is still
// told (with snapshots it failed 2 of 10 runs), and one expiry is told
// once however many other changes follow.
func TestExpiryBeforeFollowerRunsIsToldOnce(t *testing.T) {
	a, n := newTestAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := a.opts.Session.(switchSession)
	events, stop := s.Events() // as Run does, before the API serves
	s.Start(ctx, "123456")
	s.Set(session.Status{Phase: state.CodeNeeded, Detail: &state.Message{Key: session.KeyExpired}}, time.Now())
	s.Emit(session.Event{Kind: session.Expired, At: time.Now()})
	s.Set(session.Status{Phase: state.CodeNeeded}, time.Now()) // a later change
	done := make(chan struct{})
	go func() { defer close(done); a.followSession(ctx, events, stop) }()
	select {
	case <-n.sent:
	case <-ctx.Done():
		t.Fatal("an expiry that happened before the follower ran was never told")
	}
	// A second expiry is a second notification, never a repeat of the first.
	s.Emit(session.Event{Kind: session.Expired, At: time.Now()})
	select {
	case <-n.sent:
	case <-ctx.Done():
		t.Fatal("the second expiry was never told")
	}
	cancel()
	<-done
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.got) != 2 {
		t.Errorf("%d notifications for 2 expiries", len(n.got))
	}
}

// An expiry from before the agent subscribed is not told.
func TestExpiryBeforeStartIsNotTold(t *testing.T) {
	a, n := newTestAgent(t)
	s := a.opts.Session.(switchSession)
	s.Emit(session.Event{Kind: session.Expired, At: time.Now()})
	ctx, cancel := context.WithCancel(context.Background())
	events, stop := s.Events()
	done := make(chan struct{})
	go func() { defer close(done); a.followSession(ctx, events, stop) }()
	// An event after it proves the follower has read everything queued.
	s.Emit(session.Event{Kind: session.Ended, At: time.Now()})
	s.Emit(session.Event{Kind: session.Expired, At: time.Now()})
	<-n.sent
	cancel()
	<-done
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.got) != 1 {
		t.Errorf("%d notifications, want only the expiry after the start", len(n.got))
	}
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
