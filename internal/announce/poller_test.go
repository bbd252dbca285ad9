package announce

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// countingFeed passes calls to the real client and records what came back.
type countingFeed struct {
	Feed
	mu          sync.Mutex
	notModified int
	fetched     int
}

func (f *countingFeed) Announcements(ctx context.Context, etag string) (*portal.Announcements, error) {
	res, err := f.Feed.Announcements(ctx, etag)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && res.NotModified {
		f.notModified++
	} else if err == nil {
		f.fetched++
	}
	return res, err
}

func (f *countingFeed) counts() (fetched, notModified int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetched, f.notModified
}

// dirs are the cache and state directories of one device.
type dirs struct{ cache, state string }

func newDirs(tb testing.TB) dirs {
	tb.Helper()
	d := tb.TempDir()
	return dirs{cache: filepath.Join(d, "cache"), state: filepath.Join(d, "state")}
}

// logBuffer collects log lines, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type fixture struct {
	poller *Poller
	feed   *countingFeed
	log    *logBuffer
}

// startPoller builds a poller on d against feed with the clock now.
func startPoller(tb testing.TB, feed Feed, d dirs, now func() time.Time, n Notifier) *fixture {
	tb.Helper()
	f := &fixture{feed: &countingFeed{Feed: feed}, log: &logBuffer{}}
	p, err := New(Deps{
		Feed: f.feed, Notifier: n, Now: now,
		Logger: slog.New(slog.NewTextHandler(f.log, nil)),
	}, Config{CacheDir: d.cache, StateDir: d.state, Lang: "de"})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	f.poller = p
	return f
}

func (f *fixture) poll(tb testing.TB) {
	tb.Helper()
	if err := f.poller.Poll(context.Background()); err != nil {
		tb.Fatalf("Poll: %v\nlog:\n%s", err, f.log)
	}
}

func (f *fixture) ids() []string {
	var out []string
	for _, it := range f.poller.List("de") {
		out = append(out, it.ID)
	}
	return out
}

// post stores an announcement in the portal and moves its clock past the
// portal's one-second revision check, as the admin CLI would.
func post(tb testing.TB, env *portaltest.Env, a store.Announcement) {
	tb.Helper()
	now := env.Clock.Now()
	if a.Severity == "" {
		a.Severity = SeverityInfo
	}
	if a.TitleDE == "" {
		a.TitleDE, a.TitleEN = "Titel "+a.ID, "Title "+a.ID
	}
	if a.ValidFrom.IsZero() {
		a.ValidFrom = now.Add(-time.Minute)
	}
	if a.ValidUntil.IsZero() {
		a.ValidUntil = now.Add(24 * time.Hour)
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = now
	}
	if len(a.Audience) == 0 {
		a.Audience = []string{AudienceAll}
	}
	if err := env.Store.PutAnnouncement(context.Background(), a); err != nil {
		tb.Fatalf("PutAnnouncement: %v", err)
	}
	env.Clock.Advance(2 * time.Second)
}

func TestPollerAgainstPortal(t *testing.T) {
	env := portaltest.Start(t, portaltest.Options{})
	client := env.Client(t, nil)
	d := newDirs(t)
	f := startPoller(t, client, d, env.Clock.Now, nil)

	t.Run("posted_announcement_shows_within_one_poll", func(t *testing.T) {
		f.poll(t)
		if got := f.ids(); len(got) != 0 {
			t.Fatalf("before posting: %v", got)
		}
		post(t, env, store.Announcement{ID: "wartung-mail", Severity: SeverityMaintenance,
			TitleDE: "Wartung E-Mail", TitleEN: "Email maintenance", BodyDE: "Am **Samstag**.", BodyEN: "On **Saturday**."})
		f.poll(t)
		list := f.poller.List("de")
		if len(list) != 1 || list[0].ID != "wartung-mail" || list[0].Title != "Wartung E-Mail" || list[0].Body != "Am **Samstag**." || list[0].Read {
			t.Fatalf("List = %+v", list)
		}
		if got := f.poller.Unread(); got != (state.Announcements{Unread: 1, UnreadUrgent: true}) {
			t.Errorf("Announce = %+v, want 1 unread, urgent", got)
		}
	})

	t.Run("next_poll_is_304_without_store_update", func(t *testing.T) {
		unread, cancel := f.poller.SubscribeUnread()
		defer cancel()
		<-unread
		_, nm := f.feed.counts()
		f.poll(t)
		if _, nm2 := f.feed.counts(); nm2 != nm+1 {
			t.Fatalf("second poll was not answered 304 (%d → %d)", nm, nm2)
		}
		select {
		case got := <-unread:
			t.Errorf("a 304 published the unread counts again: %+v", got)
		default:
		}
	})

	t.Run("english_and_fallback", func(t *testing.T) {
		post(t, env, store.Announcement{ID: "nur-deutsch", TitleDE: "Nur Deutsch", TitleEN: "", BodyDE: "Text"})
		f.poll(t)
		byID := map[string]Item{}
		for _, it := range f.poller.List("en") {
			byID[it.ID] = it
		}
		if it := byID["wartung-mail"]; it.Title != "Email maintenance" || it.Lang != "en" {
			t.Errorf("english item = %+v", it)
		}
		if it := byID["nur-deutsch"]; it.Title != "Nur Deutsch" || it.Lang != "de" {
			t.Errorf("fallback item = %+v", it)
		}
	})

	t.Run("read_state_and_counts", func(t *testing.T) {
		if err := f.poller.MarkRead([]string{"wartung-mail", "unknown-id"}); err != nil {
			t.Fatalf("MarkRead: %v", err)
		}
		if got := f.poller.Unread(); got != (state.Announcements{Unread: 1}) {
			t.Errorf("Announce = %+v, want 1 unread, not urgent", got)
		}
	})

	t.Run("read_state_survives_restart", func(t *testing.T) {
		g := startPoller(t, client, d, env.Clock.Now, nil)
		if got := g.poller.Unread(); got != (state.Announcements{Unread: 1}) {
			t.Errorf("after restart Announce = %+v, want 1 unread from the cache", got)
		}
		g.poll(t)
		if _, nm := g.feed.counts(); nm != 1 {
			t.Errorf("restarted poller did not revalidate its cached ETag (304s: %d)", nm)
		}
		for _, it := range g.poller.List("de") {
			if want := it.ID == "wartung-mail"; it.Read != want {
				t.Errorf("%s read = %v, want %v", it.ID, it.Read, want)
			}
		}
	})

	t.Run("expired_announcement_disappears", func(t *testing.T) {
		now := env.Clock.Now()
		post(t, env, store.Announcement{ID: "kurz", Severity: SeverityOutage, ValidFrom: now.Add(-time.Minute), ValidUntil: now.Add(time.Hour)})
		f.poll(t)
		if got := f.ids(); !contains(got, "kurz") {
			t.Fatalf("kurz not shown: %v", got)
		}
		if !f.poller.Unread().UnreadUrgent {
			t.Error("an unread outage does not badge the tray")
		}
		env.Clock.Advance(2 * time.Hour)
		// Without any poll the list and the counts follow the clock.
		if got := f.ids(); contains(got, "kurz") {
			t.Errorf("expired kurz still listed: %v", got)
		}
		f.poller.Refresh(context.Background())
		if got := f.poller.Unread(); got != (state.Announcements{Unread: 1}) {
			t.Errorf("after expiry Announce = %+v, want 1 unread, not urgent", got)
		}
		f.poll(t)
		if got := f.ids(); contains(got, "kurz") {
			t.Errorf("expired kurz listed after poll: %v", got)
		}
	})

	t.Run("portal_stopped_restart_shows_cache", func(t *testing.T) {
		want := f.ids()
		env.Stop()
		deadClient := env.Client(t, func(c *portal.Config) { c.Retry.MaxAttempts = 1 })
		g := startPoller(t, deadClient, d, env.Clock.Now, nil)
		if err := g.poller.Poll(context.Background()); err == nil {
			t.Fatal("Poll against a stopped portal succeeded")
		}
		if got := g.ids(); strings.Join(got, ",") != strings.Join(want, ",") || len(got) == 0 {
			t.Errorf("offline list = %v, want cached %v", got, want)
		}
		if got := g.poller.Unread().Unread; got != 1 {
			t.Errorf("offline unread = %d, want 1", got)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// badPortal serves whatever body the test sets, over TLS with its own
// certificate pinned as the CA, like a broken or hostile portal would.
type badPortal struct {
	mu   sync.Mutex
	body []byte
	etag string
	srv  *httptest.Server
}

func startBadPortal(tb testing.TB) (*badPortal, *portal.Client) {
	tb.Helper()
	b := &badPortal{}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		body, etag := b.body, b.etag
		b.mu.Unlock()
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.srv.TLS = &tls.Config{MinVersion: tls.VersionTLS13}
	b.srv.StartTLS()
	tb.Cleanup(b.srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.srv.Certificate().Raw})
	c, err := portal.New(portal.Config{
		BaseURL: b.srv.URL, CAPEM: string(ca),
		Retry: portal.RetryPolicy{MaxAttempts: 1},
	})
	if err != nil {
		tb.Fatalf("portal.New: %v", err)
	}
	tb.Cleanup(c.Close)
	return b, c
}

func (b *badPortal) serve(body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.body = []byte(body)
	b.etag = fmt.Sprintf(`"%d"`, len(body)) + fmt.Sprintf(`"%x"`, body[:min(8, len(body))])
}

var goodFeed = `{"announcements":[
 {"id":"a1","severity":"info","title":{"de":"Eins","en":"One"},"body":{"de":"Text","en":"Text"},
  "valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z","audience":["all"],"updated_at":"2026-03-01T08:00:00Z"},
 {"id":"a2","severity":"outage","title":{"de":"Zwei","en":"Two"},"body":{"de":"","en":""},
  "valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z","audience":["all"],"updated_at":"2026-03-02T08:00:00Z"}]}`

func bigFeed(n int, bodyBytes int) string {
	var items []string
	for i := range n {
		items = append(items, fmt.Sprintf(`{"id":"big%d","severity":"info","title":{"de":"T","en":"T"},"body":{"de":%q,"en":""},
  "valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z","audience":["all"]}`, i, strings.Repeat("x", bodyBytes)))
	}
	return `{"announcements":[` + strings.Join(items, ",") + `]}`
}

func TestPollerIgnoresBadInput(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		body    string
		wantErr bool
		wantIDs []string
		wantLog string
	}{
		{name: "malformed_json", body: `{"announcements":[{"id":"x",`, wantErr: true, wantIDs: []string{"a2", "a1"}, wantLog: "ignored malformed announcement feed"},
		{name: "not_json_at_all", body: `<html>proxy login</html>`, wantErr: true, wantIDs: []string{"a2", "a1"}, wantLog: "ignored malformed announcement feed"},
		{name: "too_many_announcements", body: bigFeed(MaxItems+1, 1), wantErr: true, wantIDs: []string{"a2", "a1"}, wantLog: "limit 100"},
		{name: "too_many_bytes", body: bigFeed(40, 8000), wantErr: true, wantIDs: []string{"a2", "a1"}, wantLog: "limit 262144"},
		{name: "over_client_cap", body: bigFeed(1, 1<<20+10), wantErr: true, wantIDs: []string{"a2", "a1"}, wantLog: "answer too large"},
		{name: "unknown_fields_are_ignored", body: strings.Replace(goodFeed, `"id":"a1",`, `"id":"a1","priority":7,"extra":{"x":[1]},`, 1),
			wantIDs: []string{"a2", "a1"}},
		{name: "no_text_in_either_language_keeps_old_version", body: strings.Replace(goodFeed, `"title":{"de":"Eins","en":"One"},"body":{"de":"Text","en":"Text"}`,
			`"title":{"de":"","en":" "},"body":{"de":"","en":""}`, 1), wantIDs: []string{"a2", "a1"}, wantLog: "no text in either language"},
		{name: "new_item_without_text_is_dropped", body: strings.Replace(goodFeed, `"id":"a1","severity":"info","title":{"de":"Eins","en":"One"},"body":{"de":"Text","en":"Text"}`,
			`"id":"a3","severity":"info","title":{"de":"","en":""},"body":{"de":"","en":""}`, 1), wantIDs: []string{"a2"}, wantLog: "no text in either language"},
		{name: "unknown_severity_shown_as_info", body: strings.Replace(goodFeed, `"severity":"info"`, `"severity":"security"`, 1),
			wantIDs: []string{"a2", "a1"}, wantLog: `unknown severity \"security\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bp, client := startBadPortal(t)
			d := newDirs(t)
			f := startPoller(t, client, d, now, nil)
			bp.serve(goodFeed)
			f.poll(t)
			if got := f.ids(); strings.Join(got, ",") != "a2,a1" {
				t.Fatalf("good feed: %v", got)
			}
			bp.serve(tt.body)
			err := f.poller.Poll(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Poll error = %v, want error %v", err, tt.wantErr)
			}
			if got := f.ids(); strings.Join(got, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("after bad feed: %v, want %v", got, tt.wantIDs)
			}
			if !strings.Contains(f.log.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, f.log)
			}
			// The disk cache holds what is shown: a restart shows the same.
			g := startPoller(t, client, d, now, nil)
			if got := g.ids(); strings.Join(got, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("after restart: %v, want %v", got, tt.wantIDs)
			}
		})
	}
}

func TestPollerDamagedFiles(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC) }
	bp, client := startBadPortal(t)
	bp.serve(goodFeed)
	d := newDirs(t)
	for _, p := range []string{filepath.Join(d.cache, CacheFile), filepath.Join(d.state, StateFile)} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := startPoller(t, client, d, now, nil)
	if !strings.Contains(f.log.String(), "ignoring announcement cache") || !strings.Contains(f.log.String(), "ignoring announcement read state") {
		t.Errorf("damaged files not logged:\n%s", f.log)
	}
	f.poll(t)
	if got := f.ids(); len(got) != 2 {
		t.Fatalf("after poll: %v", got)
	}
	var c cached
	b, err := os.ReadFile(filepath.Join(d.cache, CacheFile))
	if err != nil || json.Unmarshal(b, &c) != nil || len(c.Items) != 2 {
		t.Errorf("cache not rewritten: %v %s", err, b)
	}
}

func TestNotificationFiresOnce(t *testing.T) {
	dbustest.PrivateBus(t)
	srv := dbustest.StartNotificationServer(t)
	env := portaltest.Start(t, portaltest.Options{})
	client := env.Client(t, nil)
	d := newDirs(t)
	f := startPoller(t, client, d, env.Clock.Now, DBusNotifier{})

	post(t, env, store.Announcement{ID: "info-1", Severity: SeverityInfo})
	post(t, env, store.Announcement{ID: "stoerung-1", Severity: SeverityOutage, TitleDE: "Störung Fachverfahren", TitleEN: "Outage",
		BodyDE: "Das **Fachverfahren** ist gestört. [Details](https://intranet.example/x)"})
	f.poll(t)
	f.poll(t)
	f.poller.Refresh(context.Background())
	got := srv.Notifications()
	if len(got) != 1 {
		t.Fatalf("notifications = %+v, want exactly one", got)
	}
	n := got[0]
	if n.AppName != "Dienstweg" || n.Summary != "Störung Fachverfahren" || n.Body != "Das Fachverfahren ist gestört. Details" {
		t.Errorf("notification = %+v", n)
	}
	if u, ok := n.Hints["urgency"]; !ok || u.Value() != byte(2) {
		t.Errorf("outage urgency hint = %v", n.Hints["urgency"])
	}

	// A restart of the agent does not repeat it, even with a fresh feed.
	if err := os.Remove(filepath.Join(d.cache, CacheFile)); err != nil {
		t.Fatal(err)
	}
	g := startPoller(t, client, d, env.Clock.Now, DBusNotifier{})
	g.poll(t)
	if got := srv.Notifications(); len(got) != 1 {
		t.Fatalf("after restart notifications = %d, want still 1", len(got))
	}

	// A new maintenance notifies once more; a planned one only when it starts.
	now := env.Clock.Now()
	post(t, env, store.Announcement{ID: "wartung-2", Severity: SeverityMaintenance, TitleDE: "Wartung"})
	post(t, env, store.Announcement{ID: "wartung-3", Severity: SeverityMaintenance, TitleDE: "Später",
		ValidFrom: now.Add(time.Hour), ValidUntil: now.Add(3 * time.Hour)})
	g.poll(t)
	got = srv.Notifications()
	if len(got) != 2 || got[1].Summary != "Wartung" {
		t.Fatalf("notifications = %+v, want the maintenance as second", got)
	}
	env.Clock.Advance(90 * time.Minute)
	g.poller.Refresh(context.Background())
	g.poll(t)
	if got = srv.Notifications(); len(got) != 3 || got[2].Summary != "Später" {
		t.Fatalf("notifications = %+v, want the planned one when it starts", got)
	}
}

func TestNotifierWithoutServerCarriesOn(t *testing.T) {
	dbustest.PrivateBus(t) // a bus, but no notification server on it
	env := portaltest.Start(t, portaltest.Options{})
	f := startPoller(t, env.Client(t, nil), newDirs(t), env.Clock.Now, DBusNotifier{})
	post(t, env, store.Announcement{ID: "stoerung", Severity: SeverityOutage})
	f.poll(t)
	if got := f.ids(); len(got) != 1 {
		t.Fatalf("list = %v", got)
	}
	if !strings.Contains(f.log.String(), "desktop notification not shown") {
		t.Errorf("missing log line:\n%s", f.log)
	}
}
