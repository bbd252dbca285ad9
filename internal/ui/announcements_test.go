package ui

import (
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// announceDE are the window's German texts, the same as in
// /work/notes/announce-translations.json, added here until they are part of
// assets/translations (adding them twice is harmless).
var announceDE = map[string]string{
	"announce.title":                "Mitteilungen der IT",
	"announce.heading":              "Mitteilungen der IT",
	"announce.mark_all":             "Alle als gelesen markieren",
	"announce.close":                "Schließen",
	"announce.empty":                "Zurzeit gibt es keine Mitteilungen.",
	"announce.select":               "Wählen Sie links eine Mitteilung aus.",
	"announce.severity.info":        "Information",
	"announce.severity.maintenance": "Wartung",
	"announce.severity.outage":      "Störung",
	"announce.unread":               "Neu",
	"announce.valid_until":          "Gilt bis {{.Time}}",
	"announce.only_other_language":  "Diese Mitteilung gibt es nur auf Englisch.",
	"announce.link_opens":           "Der Link öffnet sich erst, wenn Sie darauf klicken.",
	"announce.load_failed":          "Die Mitteilungen konnten nicht geladen werden. Bitte versuchen Sie es gleich noch einmal.",
	"announce.time_format":          "02.01.2006 15:04",
}

var addAnnounceDE sync.Once

func announceTranslations(tb testing.TB) {
	tb.Helper()
	addAnnounceDE.Do(func() {
		b, _ := json.Marshal(announceDE)
		if err := lang.AddTranslationsForLocale(b, fyne.Locale("de")); err != nil {
			tb.Fatalf("AddTranslationsForLocale: %v", err)
		}
	})
}

// announceClient is a fake of the local API for this window; the real
// list comes from internal/announce, tested against the real portal.
type announceClient struct {
	mu      sync.Mutex
	items   []announce.Item
	err     error
	fetches int
	marked  []localapi.MarkReadRequest
}

func (c *announceClient) Announcements(context.Context) ([]announce.Item, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetches++
	if c.err != nil {
		return nil, c.err
	}
	return append([]announce.Item(nil), c.items...), nil
}

func (c *announceClient) MarkRead(_ context.Context, req localapi.MarkReadRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.marked = append(c.marked, req)
	for i := range c.items {
		for _, id := range req.IDs {
			if c.items[i].ID == id {
				c.items[i].Read = true
			}
		}
		if req.All {
			c.items[i].Read = true
		}
	}
	return nil
}

func (c *announceClient) state() (fetches int, marked []localapi.MarkReadRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches, append([]localapi.MarkReadRequest(nil), c.marked...)
}

var annTime = time.Date(2026, 11, 23, 8, 12, 0, 0, time.UTC)

func sampleItems() []announce.Item {
	return []announce.Item{
		{ID: "stoerung-mail", Severity: announce.SeverityOutage, Time: annTime, ValidUntil: annTime.Add(10 * time.Hour), Lang: "de",
			Title: "Störung beim E-Mail-Dienst",
			Body:  "Der **E-Mail-Dienst** ist gestört. Wir arbeiten daran.\n\nBetroffen:\n- Webmail\n- Kalender\n\nMehr im [Intranet](https://intranet.musterstadt.example/it).\n\n![Tracker](https://evil.example/pixel.png)"},
		{ID: "wartung-sa", Severity: announce.SeverityMaintenance, Time: annTime.Add(-26 * time.Hour), ValidUntil: annTime.Add(96 * time.Hour), Lang: "en",
			Title: "Maintenance on Saturday", Body: "*All* services are down from 8:00 to 12:00."},
		{ID: "info-neu", Severity: announce.SeverityInfo, Time: annTime.Add(-72 * time.Hour), Lang: "de", Read: true,
			Title: "Neue Version von Dienstweg", Body: "Nichts zu tun."},
	}
}

func newAnnouncementsTestWindow(t *testing.T, c *announceClient) (*AnnouncementsWindow, *[]string) {
	t.Helper()
	announceTranslations(t)
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	w := NewAnnouncementsWindow(a, c)
	w.async = inline
	var opened []string
	w.openURL = func(u *url.URL) error { opened = append(opened, u.String()); return nil }
	w.Window.Resize(fyne.NewSize(860, 540))
	return w, &opened
}

func TestAnnouncementsWindow(t *testing.T) {
	c := &announceClient{items: sampleItems()}
	w, opened := newAnnouncementsTestWindow(t, c)
	snap := state.Snapshot{Language: "de", Announce: state.Announcements{Unread: 2, UnreadUrgent: true}}

	w.Apply(snap)
	test.AssertRendersToMarkup(t, "announcements_list.xml", w.Window.Canvas())
	if fetches, _ := c.state(); fetches != 1 {
		t.Fatalf("fetches = %d, want 1", fetches)
	}
	if !w.markAll.Visible() || w.markAll.Disabled() {
		t.Error("Mark all must be offered while something is unread")
	}

	// The same counts again (a snapshot about something else) fetch nothing.
	snap.Session = state.Connected
	w.Apply(snap)
	if fetches, _ := c.state(); fetches != 1 {
		t.Errorf("an unrelated snapshot refetched (fetches = %d)", fetches)
	}

	// Opening the outage shows it and marks it read; no link opens by itself.
	w.list.Select(0)
	test.AssertRendersToMarkup(t, "announcements_detail.xml", w.Window.Canvas())
	if _, marked := c.state(); len(marked) != 1 || len(marked[0].IDs) != 1 || marked[0].IDs[0] != "stoerung-mail" {
		t.Fatalf("MarkRead calls = %+v, want the outage", marked)
	}
	if len(*opened) != 0 {
		t.Fatalf("links opened without a click: %v", *opened)
	}
	var link *widget.HyperlinkSegment
	for _, s := range w.detailBody.Segments {
		if p, ok := s.(*widget.ParagraphSegment); ok {
			for _, in := range p.Texts {
				if h, ok := in.(*widget.HyperlinkSegment); ok {
					link = h
				}
			}
		}
	}
	if link == nil || link.Text != "Intranet" {
		t.Fatalf("no Intranet link in %+v", w.detailBody.Segments)
	}
	link.OnTapped()
	if len(*opened) != 1 || (*opened)[0] != "https://intranet.musterstadt.example/it" {
		t.Errorf("click opened %v", *opened)
	}
	if got := w.detailBody.String(); strings.Contains(got, "evil.example") {
		t.Errorf("the image's URL reached the screen: %q", got)
	}

	// The agent publishes the new count; the list reloads and keeps the
	// open announcement.
	snap.Announce = state.Announcements{Unread: 1, UnreadUrgent: true}
	w.Apply(snap)
	if fetches, _ := c.state(); fetches != 2 {
		t.Errorf("a new count did not refetch (fetches = %d)", fetches)
	}
	if w.current != "stoerung-mail" || !w.detail.Visible() {
		t.Errorf("open announcement lost on reload (current %q)", w.current)
	}

	// English-only text says so in a German window.
	w.list.Select(1)
	if !w.detailLang.Visible() {
		t.Error("an English-only announcement in a German window is not marked")
	}

	test.Tap(w.markAll)
	if _, marked := c.state(); len(marked) != 3 || !marked[2].All {
		t.Errorf("MarkRead calls = %+v, want mark all last", marked)
	}
	if !w.markAll.Disabled() {
		t.Error("Mark all still enabled with nothing unread")
	}
	for _, it := range w.items {
		if !it.Read {
			t.Errorf("%s still unread after Mark all", it.ID)
		}
	}
}

func TestAnnouncementsWindowEmptyAndErrors(t *testing.T) {
	c := &announceClient{}
	w, _ := newAnnouncementsTestWindow(t, c)
	w.Apply(state.Snapshot{Language: "de"})
	test.AssertRendersToMarkup(t, "announcements_empty.xml", w.Window.Canvas())
	if !w.empty.Visible() || !w.markAll.Disabled() {
		t.Errorf("empty list: empty label visible %v, mark all disabled %v", w.empty.Visible(), w.markAll.Disabled())
	}

	c.mu.Lock()
	c.err = errors.New("agent says no")
	c.mu.Unlock()
	w.Apply(state.Snapshot{Language: "de", Announce: state.Announcements{Unread: 1}})
	if !w.errLabel.Visible() || w.errLabel.Text != announceDE["announce.load_failed"] {
		t.Errorf("load failure shows %q (visible %v)", w.errLabel.Text, w.errLabel.Visible())
	}

	w.AgentLost()
	if !w.lost.Visible() {
		t.Error("AgentLost shows nothing")
	}
	w.Apply(state.Snapshot{Language: "de", Announce: state.Announcements{Unread: 1}})
	if w.lost.Visible() {
		t.Error("the agent notice stays after the agent is back")
	}
}

func TestAnnouncementBodySegments(t *testing.T) {
	c := &announceClient{}
	w, _ := newAnnouncementsTestWindow(t, c)
	segs := w.bodySegments(announce.Parse("**fett** [böse](javascript:alert(1)) ![bild](https://x.example/a.png)\n\n- eins\n- [zwei](https://a.example/)"))
	if len(segs) != 3 {
		t.Fatalf("segments = %d, want paragraph, list, link hint", len(segs))
	}
	p := segs[0].(*widget.ParagraphSegment)
	for _, s := range p.Texts {
		if _, ok := s.(*widget.HyperlinkSegment); ok {
			t.Errorf("a javascript: link or an image became clickable: %+v", s)
		}
	}
	if first := p.Texts[0].(*widget.TextSegment); first.Text != "fett" || !first.Style.TextStyle.Bold {
		t.Errorf("first run = %+v, want bold 'fett'", first)
	}
	l := segs[1].(*widget.ListSegment)
	if len(l.Items) != 2 {
		t.Fatalf("list items = %d", len(l.Items))
	}
	if _, ok := l.Items[1].(*widget.ParagraphSegment).Texts[0].(*widget.HyperlinkSegment); !ok {
		t.Errorf("https link in a bullet is not a link: %+v", l.Items[1])
	}
}

// TestAnnouncementsScreenshot writes docs/screenshots/announcements-de.png
// from the software renderer when DIENSTWEG_SCREENSHOTS names the
// directory; scripts/screenshots.sh takes the real-window ones.
func TestAnnouncementsScreenshot(t *testing.T) {
	dir := os.Getenv("DIENSTWEG_SCREENSHOTS")
	if dir == "" {
		t.Skip("set DIENSTWEG_SCREENSHOTS=DIR to write the screenshot")
	}
	c := &announceClient{items: sampleItems()}
	w, _ := newAnnouncementsTestWindow(t, c)
	w.Apply(state.Snapshot{Language: "de", Announce: state.Announcements{Unread: 2, UnreadUrgent: true}})
	w.list.Select(0)
	f, err := os.Create(filepath.Join(dir, "announcements-de.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, w.Window.Canvas().Capture()); err != nil {
		t.Fatal(err)
	}
}
