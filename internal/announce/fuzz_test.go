package announce

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// fuzzDirs gives each input fresh cache and state directories, on tmpfs
// where there is one: the poller syncs what it writes, and on a disk that
// would make the fuzzer measure the disk.
func fuzzDirs(t *testing.T, base string) dirs {
	t.Helper()
	d, err := os.MkdirTemp(base, "in")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return dirs{cache: filepath.Join(d, "cache"), state: filepath.Join(d, "state")}
}

func fuzzBase(f *testing.F) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "announce-fuzz")
		if err == nil {
			f.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return f.TempDir()
}

// countingNotifier counts notifications per announcement.
type countingNotifier struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingNotifier) Notify(_ context.Context, n Notification) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[n.ID]++
	return nil
}

func (c *countingNotifier) most() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, most := "", 0
	for k, v := range c.n {
		if v > most {
			id, most = k, v
		}
	}
	return id, most
}

func fuzzPoller(t *testing.T, d dirs, feed Feed, n Notifier) *Poller {
	t.Helper()
	p, err := New(Deps{Feed: feed, Notifier: n,
		Now: func() time.Time { return t0 }, Rand: func() float64 { return 0.5 },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Config{CacheDir: d.cache, StateDir: d.state, Lang: "de"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// checkShown holds what the poller shows to its contract, whatever came
// in: the limits, one entry per id, texts fit for the tray and the
// window, a known severity, and timers that neither spin nor overflow.
func checkShown(t *testing.T, p *Poller) {
	t.Helper()
	for _, lang := range []string{"de", "en"} {
		items := p.List(lang)
		if len(items) > MaxItems {
			t.Fatalf("%d items shown", len(items))
		}
		seen := map[string]bool{}
		for _, it := range items {
			if seen[it.ID] {
				t.Fatalf("id %q shown twice", it.ID)
			}
			seen[it.ID] = true
			if !utf8.ValidString(it.Title) || strings.ContainsAny(it.Title, "\n\r") || utf8.RuneCountInString(it.Title) > MaxTitleRunes {
				t.Fatalf("title %q not fit for one line", it.Title)
			}
			if !utf8.ValidString(it.Body) || len(it.Body) > MaxBodyBytes+len("…") {
				t.Fatalf("body of %d bytes, valid UTF-8 %v", len(it.Body), utf8.ValidString(it.Body))
			}
			if !slices.Contains([]string{SeverityInfo, SeverityMaintenance, SeverityOutage}, it.Severity) {
				t.Fatalf("severity %q shown", it.Severity)
			}
		}
	}
	if d, ok := p.untilBoundary(); ok && (d <= 0 || d > maxSleep+time.Second) {
		t.Fatalf("wait for the next boundary %v", d)
	}
	p.mu.Lock()
	etag := p.feed.ETag
	p.mu.Unlock()
	if !validETag(etag) {
		t.Fatalf("would send ETag %q", etag)
	}
}

// sameList compares what two pollers show.
func sameList(t *testing.T, what string, a, b *Poller) {
	t.Helper()
	la, lb := a.List("de"), b.List("de")
	ja, _ := json.Marshal(la)
	jb, _ := json.Marshal(lb)
	if string(ja) != string(jb) {
		t.Fatalf("%s:\n%s\nwant\n%s", what, jb, ja)
	}
}

// fuzzFeed answers with fixed items and ETag.
type fuzzFeed struct {
	items []portal.Announcement
	etag  string
}

func (f fuzzFeed) Announcements(context.Context, string) (*portal.Announcements, error) {
	return &portal.Announcements{Items: f.items, ETag: f.etag}, nil
}

// FuzzFeed feeds any body the portal client would decode (and any ETag)
// to the poller, plus one announcement built from the fuzzer's fields so
// that the checks behind the JSON decoder are reached often: nothing may
// panic; what is shown keeps the contract; a restart shows the same from
// the cache; an outage notifies once, also across the restart; and read
// stays read.
func FuzzFeed(f *testing.F) {
	type fields struct {
		id, sev, title, text string
		from, until          int64
	}
	plain := fields{"f", SeverityOutage, "Störung", "**Fachverfahren** [x](https://a.example)", t0.Add(-time.Hour).Unix(), t0.Add(time.Hour).Unix()}
	for _, s := range []struct {
		body string
		etag string
		fields
	}{
		{goodFeed, `"v1"`, plain},
		{bigFeed(3, 40), "", fields{"a2", "maintenance", "", "# x\n\ny", t0.Unix(), 253402214400}},
		{`{"announcements":[{"id":"a","severity":"outage","title":{"de":"` + strings.Repeat("ä", 300) + `"},"valid_from":"2026-01-01T00:00:00Z","valid_until":"9999-12-31T23:59:59Z"},{"id":"a","title":{"en":"x"}}]}`, "\"x\"\n", plain},
		{`{"announcements":[{"id":"w","severity":"maintenance","body":{"de":"# Wartung\n\n**heute**"},"valid_from":"2026-06-01T10:00:00+02:00","valid_until":"2026-06-01T09:00:00Z","audience":["g"]}]}`, "", fields{"", "", "", "", 0, 0}},
		{"not json", "", fields{"x", "security", " \t", "\xff", -62135596800, 0}},
	} {
		f.Add([]byte(s.body), s.etag, s.id, s.sev, s.title, s.text, s.from, s.until)
	}
	base := fuzzBase(f)
	f.Fuzz(func(t *testing.T, body []byte, etag, id, sev, title, text string, from, until int64) {
		var v api.Announcements
		if err := json.Unmarshal(body, &v); err != nil {
			v.Announcements = nil // the portal client refuses it
		}
		if slices.ContainsFunc(v.Announcements, func(a api.Announcement) bool { return a.ID == "" }) {
			v.Announcements = nil // likewise
		}
		if id != "" {
			a := api.Announcement{ID: id, Severity: sev, Title: api.Text{DE: title}, Body: api.Text{EN: text}, Audience: []string{AudienceAll}}
			// Times as the JSON decoder could produce them: years 0..9999.
			if from >= -62167219200 && from <= 253402300799 {
				a.ValidFrom = time.Unix(from, 0).UTC()
			}
			if until >= -62167219200 && until <= 253402300799 {
				a.ValidUntil = time.Unix(until, 0).UTC()
			}
			v.Announcements = append(v.Announcements, a)
		}
		d := fuzzDirs(t, base)
		n := &countingNotifier{}
		p := fuzzPoller(t, d, fuzzFeed{items: v.Announcements, etag: etag}, n)
		err := p.Poll(context.Background())
		checkShown(t, p)
		p.Refresh(context.Background())
		if w := p.nextWait(err); w <= 0 {
			t.Fatalf("next poll in %v", w)
		}
		if err != nil {
			return // refused as a whole: the limits
		}
		q := fuzzPoller(t, d, fuzzFeed{}, n)
		checkShown(t, q)
		sameList(t, "after a restart", p, q)
		q.Refresh(context.Background())
		if id, k := n.most(); k > 1 {
			t.Fatalf("announcement %q notified %d times", id, k)
		}
		if err := q.MarkAllRead(); err != nil {
			t.Fatalf("MarkAllRead: %v", err)
		}
		r := fuzzPoller(t, d, fuzzFeed{}, n)
		if s := r.Unread(); s.Unread != 0 {
			t.Fatalf("%d unread after marking all read and a restart", s.Unread)
		}
	})
}

// FuzzCacheFile puts any bytes into the announcement cache: starting must
// work and keep the contract, and the next good poll must replace it.
func FuzzCacheFile(f *testing.F) {
	var good api.Announcements
	if err := json.Unmarshal([]byte(goodFeed), &good); err != nil {
		f.Fatal(err)
	}
	c, _ := json.Marshal(cached{Version: cacheVersion, ETag: `"v1"`, FetchedAt: t0, Items: good.Announcements})
	f.Add(c)
	f.Add(c[:len(c)/2])
	f.Add([]byte(`{"version":1,"etag":"\"a\"\r\n","announcements":[{"id":"x","title":{"de":"x"}},{"id":"x","title":{"de":"y"}}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"announcements":[{"id":"x","title":{"de":"x"},"valid_until":"9999-12-31T00:00:00Z"}]}`))
	f.Add([]byte("\x00\xff"))
	base := fuzzBase(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d := fuzzDirs(t, base)
		if err := os.MkdirAll(d.cache, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d.cache, CacheFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		p := fuzzPoller(t, d, fuzzFeed{items: good.Announcements, etag: `"v2"`}, nil)
		checkShown(t, p)
		if err := p.Poll(context.Background()); err != nil {
			t.Fatalf("a good poll after a damaged cache: %v", err)
		}
		if ids := strings.Join(idsOf(p.List("de")), ","); ids != "a2,a1" {
			t.Fatalf("after a good poll: %s", ids)
		}
		q := fuzzPoller(t, d, fuzzFeed{}, nil)
		sameList(t, "after a restart", p, q)
	})
}

// FuzzStateFile puts any bytes into the read state: starting must work,
// and marking read must work and stick.
func FuzzStateFile(f *testing.F) {
	f.Add([]byte(`{"read":["a1"],"notified":["a2"]}`))
	f.Add([]byte(`{"read":null,"notified":[""]}`))
	f.Add([]byte(`{"read":"a1"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"read":["a1","a1",` + strings.Repeat(`"x",`, 50) + `"y"]}`))
	var good api.Announcements
	if err := json.Unmarshal([]byte(goodFeed), &good); err != nil {
		f.Fatal(err)
	}
	base := fuzzBase(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d := fuzzDirs(t, base)
		writeCache(t, d, cached{Version: cacheVersion, Items: good.Announcements})
		if err := os.MkdirAll(d.state, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d.state, StateFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		n := &countingNotifier{}
		p := fuzzPoller(t, d, fuzzFeed{items: good.Announcements}, n)
		if ids := strings.Join(idsOf(p.List("de")), ","); ids != "a2,a1" {
			t.Fatalf("cache lost with the read state: %s", ids)
		}
		if err := p.Poll(context.Background()); err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if err := p.MarkAllRead(); err != nil {
			t.Fatalf("MarkAllRead: %v", err)
		}
		q := fuzzPoller(t, d, fuzzFeed{}, n)
		q.Refresh(context.Background())
		if s := q.Unread(); s.Unread != 0 {
			t.Fatalf("%d unread after marking all read and a restart", s.Unread)
		}
		if id, k := n.most(); k > 1 {
			t.Fatalf("announcement %q notified %d times", id, k)
		}
	})
}

func idsOf(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}
