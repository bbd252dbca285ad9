package announce

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
)

// writeCache puts c on disk as the cache of d.
func writeCache(tb testing.TB, d dirs, c cached) {
	tb.Helper()
	if err := writeJSON(filepath.Join(d.cache, CacheFile), c, 0o644); err != nil {
		tb.Fatalf("writing cache: %v", err)
	}
}

// A cache whose ETag cannot be sent as If-None-Match (edited, or damaged
// on disk) made every poll fail, and since only a good poll rewrites the
// cache, announcements never refreshed again.
func TestCachedETagThatCannotBeSentIsDropped(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC) }
	bp, client := startBadPortal(t)
	bp.serve(goodFeed)
	d := newDirs(t)
	writeCache(t, d, cached{Version: cacheVersion, ETag: "\"v1\"\n", Items: []portal.Announcement{
		ann("old", SeverityInfo, now().Add(-time.Hour), now().Add(time.Hour)),
	}})
	f := startPoller(t, client, d, now, nil)
	if !strings.Contains(f.log.String(), "damaged parts of the announcement cache") {
		t.Errorf("no log line about the ETag:\n%s", f.log)
	}
	if got := f.ids(); strings.Join(got, ",") != "old" {
		t.Errorf("cached list = %v; the announcements themselves are fine", got)
	}
	f.poll(t)
	if got := f.ids(); strings.Join(got, ",") != "a2,a1" {
		t.Errorf("after a poll: %v, want the portal's feed", got)
	}
}

func TestCacheWithRepeatedIDShowsItOnce(t *testing.T) {
	t.Parallel()
	d := newDirs(t)
	a := ann("x", SeverityOutage, t0.Add(-time.Hour), t0.Add(time.Hour))
	b := a
	b.Title = portal.Text{DE: "Andere", EN: "Other"}
	writeCache(t, d, cached{Version: cacheVersion, Items: []portal.Announcement{a, b}})
	p := newTestPollerIn(t, d, staticFeed{err: errors.New("offline")})
	if got := p.List("de"); len(got) != 1 || got[0].Title != a.Title.DE {
		t.Errorf("List = %+v, want %q once", got, a.Title.DE)
	}
	if s := p.Unread(); s.Unread != 1 {
		t.Errorf("unread = %d, want 1", s.Unread)
	}
}

func TestOversizedReadStateIsIgnored(t *testing.T) {
	t.Parallel()
	d := newDirs(t)
	if err := os.MkdirAll(d.state, 0o700); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, 100000)
	for range 100000 {
		ids = append(ids, strings.Repeat("i", 20))
	}
	b, _ := json.Marshal(readState{Read: ids})
	if err := os.WriteFile(filepath.Join(d.state, StateFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(filepath.Join(d.state, StateFile)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("loadState of %d bytes = %v, want it refused", len(b), err)
	}
}

// An announcement valid "until 9999-12-31" (IT's "for ever") put the
// boundary centuries ahead; the wait overflowed into a negative duration,
// the timer fired at once and Run spun on a core.
func TestFarBoundaryWaitIsPositive(t *testing.T) {
	t.Parallel()
	forever := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		from, to time.Time
	}{
		{"valid_until_9999", t0.Add(-time.Hour), forever},
		{"starts_in_9999", forever, time.Time{}},
		{"starts_in_an_hour", t0.Add(time.Hour), forever},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newTestPoller(t, staticFeed{items: []portal.Announcement{ann("a", SeverityInfo, tc.from, tc.to)}}, 0.5)
			if err := p.Poll(context.Background()); err != nil {
				t.Fatalf("Poll: %v", err)
			}
			d, ok := p.untilBoundary()
			if !ok || d <= 0 || d > maxSleep+time.Second {
				t.Errorf("wait for the next boundary = %v, %v; want 0 < wait ≤ %v", d, ok, maxSleep+time.Second)
			}
		})
	}
}

// A Retry-After date far ahead overflowed the jittered wait into a
// negative one, and the portal's Retry-After was ignored: the poller came
// back after its normal back-off.
func TestFarRetryAfterWaitIsBounded(t *testing.T) {
	t.Parallel()
	for _, ra := range []time.Duration{maxSleep, 1<<63 - 1} {
		overloaded := &portal.Error{Kind: portal.KindOverloaded, Status: http.StatusServiceUnavailable, RetryAfter: ra}
		p := newTestPoller(t, staticFeed{err: overloaded}, 0.999)
		err := p.Poll(context.Background())
		if got := p.nextWait(err); got < maxSleep || got > maxSleep*5/4 {
			t.Errorf("Retry-After %v: nextWait = %v, want %v … %v", ra, got, maxSleep, maxSleep*5/4)
		}
	}
}

// newTestPollerIn is newTestPoller on the given directories.
func newTestPollerIn(tb testing.TB, d dirs, feed Feed) *Poller {
	tb.Helper()
	return startPoller(tb, feed, d, func() time.Time { return t0 }, nil).poller
}
