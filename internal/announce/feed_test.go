package announce

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal"
)

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func ann(id, sev string, from, until time.Time, audience ...string) portal.Announcement {
	return portal.Announcement{ID: id, Severity: sev, Title: portal.Text{DE: "T " + id, EN: "T " + id},
		ValidFrom: from, ValidUntil: until, Audience: audience, UpdatedAt: from}
}

func TestVisibleAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		a      portal.Announcement
		groups []string
		want   bool
	}{
		{"inside_window", ann("a", "info", t0.Add(-time.Hour), t0.Add(time.Hour), "all"), nil, true},
		{"not_started", ann("a", "info", t0.Add(time.Minute), t0.Add(time.Hour), "all"), nil, false},
		{"ended_exactly_now", ann("a", "info", t0.Add(-time.Hour), t0, "all"), nil, false},
		{"group_matches", ann("a", "info", t0.Add(-time.Hour), t0.Add(time.Hour), "buergeramt"), []string{"kaemmerei", "buergeramt"}, true},
		{"group_differs", ann("a", "info", t0.Add(-time.Hour), t0.Add(time.Hour), "buergeramt"), []string{"kaemmerei"}, false},
		{"groups_unknown_trusts_portal", ann("a", "info", t0.Add(-time.Hour), t0.Add(time.Hour), "buergeramt"), nil, true},
		{"empty_audience_is_all", ann("a", "info", t0.Add(-time.Hour), t0.Add(time.Hour)), []string{"x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := visibleAt(tt.a, t0, tt.groups); got != tt.want {
				t.Errorf("visibleAt = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestItemOfLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		title, body         portal.Text
		lang                string
		wantTitle, wantBody string
		wantLang            string
	}{
		{"german", portal.Text{DE: "Titel", EN: "Title"}, portal.Text{DE: "Text", EN: "Body"}, "de", "Titel", "Text", "de"},
		{"english", portal.Text{DE: "Titel", EN: "Title"}, portal.Text{DE: "Text", EN: "Body"}, "en", "Title", "Body", "en"},
		{"english_missing_falls_back", portal.Text{DE: "Titel"}, portal.Text{DE: "Text"}, "en", "Titel", "Text", "de"},
		{"german_missing_falls_back", portal.Text{EN: "Title"}, portal.Text{EN: "Body"}, "de", "Title", "Body", "en"},
		{"body_only_from_other", portal.Text{DE: "Titel", EN: "Title"}, portal.Text{DE: "Text"}, "en", "Title", "Text", "en"},
		{"no_title_uses_first_line", portal.Text{}, portal.Text{DE: "**Heute** kein Netz\nmehr dazu"}, "de", "Heute kein Netz", "**Heute** kein Netz\nmehr dazu", "de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := itemOf(portal.Announcement{ID: "x", Title: tt.title, Body: tt.body}, tt.lang, false)
			if it.Title != tt.wantTitle || it.Body != tt.wantBody || it.Lang != tt.wantLang {
				t.Errorf("itemOf = %q / %q (%s), want %q / %q (%s)", it.Title, it.Body, it.Lang, tt.wantTitle, tt.wantBody, tt.wantLang)
			}
		})
	}
}

func TestCleanCutsLongTexts(t *testing.T) {
	t.Parallel()
	long := make([]rune, 500)
	for i := range long {
		long[i] = 'ä'
	}
	a, _, ok := clean(portal.Announcement{ID: "x", Severity: "info", Title: portal.Text{DE: string(long) + "\n\tmehr"}})
	if !ok || len([]rune(a.Title.DE)) != MaxTitleRunes {
		t.Errorf("title has %d runes, ok %v", len([]rune(a.Title.DE)), ok)
	}
}

func TestCovers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		list      []string
		component string
		want      bool
	}{
		{"default_covers_gateway", nil, ComponentGateway, true},
		{"default_covers_service", nil, "office_services:Fachverfahren", true},
		{"default_not_home_network", nil, ComponentLocalNetwork, false},
		{"default_not_internet", nil, ComponentInternet, false},
		{"default_not_captive_portal", nil, ComponentCaptivePortal, false},
		{"named_match", []string{ComponentDNS}, ComponentDNS, true},
		{"named_other", []string{ComponentDNS}, ComponentGateway, false},
		{"services_cover_each_service", []string{ComponentServices}, "office_services:Mail", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := covers(tt.list, tt.component); got != tt.want {
				t.Errorf("covers(%v, %q) = %v, want %v", tt.list, tt.component, got, tt.want)
			}
		})
	}
}

// staticFeed answers every poll with the same list or error.
type staticFeed struct {
	items []portal.Announcement
	err   error
}

func (f staticFeed) Announcements(context.Context, string) (*portal.Announcements, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &portal.Announcements{Items: f.items, ETag: `"x"`}, nil
}

func newTestPoller(tb testing.TB, feed Feed, r float64) *Poller {
	tb.Helper()
	d := newDirs(tb)
	p, err := New(Deps{Feed: feed, Now: func() time.Time { return t0 }, Rand: func() float64 { return r }},
		Config{CacheDir: d.cache, StateDir: d.state, Interval: 10 * time.Minute, UrgentInterval: 2 * time.Minute, MaxBackoff: time.Hour, Jitter: 0.25})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return p
}

func TestNextWait(t *testing.T) {
	t.Parallel()
	overloaded := &portal.Error{Kind: portal.KindOverloaded, Status: http.StatusServiceUnavailable, RetryAfter: 20 * time.Minute}
	down := &portal.Error{Kind: portal.KindUnreachable}
	outage := []portal.Announcement{ann("o", SeverityOutage, t0.Add(-time.Hour), t0.Add(time.Hour))}
	tests := []struct {
		name     string
		items    []portal.Announcement
		polls    int
		err      error
		rand     float64
		min, max time.Duration
	}{
		{"jitter_low_end", nil, 1, nil, 0, 7*time.Minute + 30*time.Second, 7*time.Minute + 30*time.Second},
		{"jitter_high_end", nil, 1, nil, 0.999, 12*time.Minute + 29*time.Second, 12*time.Minute + 30*time.Second},
		{"faster_during_outage", outage, 1, nil, 0.5, 2 * time.Minute, 2 * time.Minute},
		// After failures: 10, 20, 40 … minutes less up to a quarter.
		{"backs_off_after_failures", nil, 3, down, 0.5, 35 * time.Minute, 35 * time.Minute},
		{"backoff_is_capped", nil, 12, down, 0, time.Hour, time.Hour},
		{"backoff_jitter_stays_below_cap", nil, 12, down, 0.999, 45 * time.Minute, 45*time.Minute + time.Second},
		{"honours_retry_after", nil, 1, overloaded, 0, 20 * time.Minute, 20 * time.Minute},
		{"spreads_after_retry_after", nil, 1, overloaded, 0.999, 22*time.Minute + 29*time.Second, 22*time.Minute + 30*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestPoller(t, staticFeed{items: tt.items, err: tt.err}, tt.rand)
			var err error
			for range tt.polls {
				err = p.Poll(context.Background())
			}
			if (err != nil) != (tt.err != nil) || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Fatalf("Poll error = %v, want %v", err, tt.err)
			}
			if got := p.nextWait(err); got < tt.min || got > tt.max {
				t.Errorf("nextWait = %v, want %v … %v", got, tt.min, tt.max)
			}
		})
	}
}

func TestCovering(t *testing.T) {
	t.Parallel()
	items := []portal.Announcement{
		ann("info", SeverityInfo, t0.Add(-time.Hour), t0.Add(time.Hour)),
		ann("old-outage", SeverityOutage, t0.Add(-3*time.Hour), t0.Add(-time.Hour)),
		ann("maint", SeverityMaintenance, t0.Add(-time.Hour), t0.Add(time.Hour)),
	}
	p := newTestPoller(t, staticFeed{items: items}, 0.5)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if it := p.Covering(ComponentGateway, t0); it == nil || it.ID != "maint" {
		t.Errorf("Covering(gateway) = %+v, want maint", it)
	}
	if it := p.Covering(ComponentInternet, t0); it != nil {
		t.Errorf("Covering(internet) = %+v, want nil", it)
	}
	if it := p.Covering(ComponentGateway, t0.Add(2*time.Hour)); it != nil {
		t.Errorf("Covering after the window = %+v, want nil", it)
	}
}

// signalFeed reports each call on a channel.
type signalFeed struct {
	staticFeed
	calls chan string
}

func (f signalFeed) Announcements(ctx context.Context, etag string) (*portal.Announcements, error) {
	f.calls <- etag
	return f.staticFeed.Announcements(ctx, etag)
}

func TestRunPollsAndStopsOnCancel(t *testing.T) {
	t.Parallel()
	feed := signalFeed{staticFeed: staticFeed{items: []portal.Announcement{ann("a", SeverityInfo, t0.Add(-time.Hour), t0.Add(time.Hour))}}, calls: make(chan string, 4)}
	d := newDirs(t)
	p, err := New(Deps{Feed: feed, Now: func() time.Time { return t0 }},
		Config{CacheDir: d.cache, StateDir: d.state, FirstPoll: time.Millisecond, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	if etag := <-feed.calls; etag != "" {
		t.Errorf("first poll sent ETag %q, want none", etag)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
	if got := p.Unread().Unread; got != 1 {
		t.Errorf("unread after Run's poll = %d, want 1", got)
	}
}
