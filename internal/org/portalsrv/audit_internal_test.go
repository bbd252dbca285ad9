package portalsrv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// countingLog is an audit log that holds its first write until release,
// as a busy single database writer would.
type countingLog struct {
	mu      sync.Mutex
	writes  int
	events  []store.AuditEvent
	first   chan struct{}
	release chan struct{}
	fail    error
}

func (l *countingLog) AppendAudit(ctx context.Context, evs ...store.AuditEvent) error {
	l.mu.Lock()
	l.writes++
	n := l.writes
	l.mu.Unlock()
	if n == 1 {
		close(l.first)
		<-l.release
	}
	if l.fail != nil {
		return l.fail
	}
	l.mu.Lock()
	l.events = append(l.events, evs...)
	l.mu.Unlock()
	return nil
}

func (l *countingLog) AuditEvents(context.Context, int64, time.Time, int) ([]store.AuditEvent, error) {
	return nil, nil
}

// Events arriving while a write is under way go into the next write
// together, and every caller returns only once its event is stored.
func TestAuditGroupCommit(t *testing.T) {
	t.Parallel()
	for _, fail := range []error{nil, errors.New("disk full")} {
		l := &countingLog{first: make(chan struct{}), release: make(chan struct{}), fail: fail}
		a := &auditWriter{st: l}
		const n = 50
		errs := make(chan error, n)
		go func() { errs <- a.append(context.Background(), store.AuditEvent{Subject: "first"}) }()
		<-l.first
		var wg sync.WaitGroup
		for i := range n - 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- a.append(context.Background(), store.AuditEvent{Subject: fmt.Sprint(i)})
			}()
		}
		// Wait until all of them queue behind the held write.
		for {
			a.mu.Lock()
			queued := len(a.pending)
			a.mu.Unlock()
			if queued == n-1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		close(l.release)
		wg.Wait()
		for range n {
			if err := <-errs; !errors.Is(err, fail) {
				t.Errorf("append = %v, want %v", err, fail)
			}
		}
		if l.writes != 2 {
			t.Errorf("%d writes for %d events, want 2 (one held, one batch)", l.writes, n)
		}
		if fail == nil && len(l.events) != n {
			t.Errorf("%d events stored, want %d", len(l.events), n)
		}
	}
}
