package update_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/update"
)

// onManifest calls hook once, when the updater first asks for the
// manifest: that is, inside its background round.
type onManifest struct {
	update.Source
	once sync.Once
	hook func()
}

func (s *onManifest) ReleaseManifest(ctx context.Context, channel string) (*portal.Release, error) {
	s.once.Do(s.hook)
	return s.Source.ReleaseManifest(ctx, channel)
}

// endsAfterAsked is the session as the updater sees it, but once armed,
// the session ends right after the updater has asked whether one is up
// (and heard yes), before it looks at anything else.
type endsAfterAsked struct {
	*session.Feed
	mu  sync.Mutex
	end func()
}

func (s *endsAfterAsked) Status() session.Status {
	st := s.Feed.Status()
	s.mu.Lock()
	end := s.end
	s.end = nil
	s.mu.Unlock()
	if end != nil {
		end()
	}
	return st
}

func (s *endsAfterAsked) armEnd(end func()) {
	s.mu.Lock()
	s.end = end
	s.mu.Unlock()
}

// A session starts while the updater downloads 0.2.0, so it waits for
// the session's end; the session ends right after the updater asked.
// Session up and down again both happen before the updater's loop looks
// at the session: states collapse (it saw "not connected" before and
// after, and never installed until the next check, hours later); the
// Ended event does not, and 0.2.0 installs at once.
func TestSessionEndRightAfterStagingInstalls(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publishVersion(t, "0.2.0", f.v2)
	sessions := &endsAfterAsked{Feed: f.sessions}
	installs := make(chan *update.Installed, 1)
	src := &onManifest{Source: f.env.Client(t, nil), hook: func() {
		f.startSession()
		sessions.armEnd(f.endSession)
	}}
	u := f.updater(t, src, func(c *update.Config) {
		c.Sessions = sessions
		c.Restart = func(i *update.Installed) { installs <- i }
		c.FirstCheck = 24 * time.Hour // only the check the test asks for
	})
	handled := runUpdater(t, u)
	u.CheckNow()
	handled("the end of the session", func(e session.Event) bool { return e.Kind == session.Ended })
	select {
	case i := <-installs:
		if i.Version != "0.2.0" {
			t.Errorf("installed %s, want 0.2.0", i.Version)
		}
	case <-time.After(time.Minute):
		t.Fatal("0.2.0 was not installed at the end of the session")
	}
}
