package announce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/logging"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Feed is the portal call the poller needs; declared here, where it is
// used, so tests can serve any answer. *portal.Client implements it.
// Implementations must be safe for concurrent use.
type Feed interface {
	Announcements(ctx context.Context, etag string) (*portal.Announcements, error)
}

// Notifier shows a desktop notification; declared here so this package
// does not depend on a desktop. DBusNotifier is the real one.
// Implementations must be safe for concurrent use.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Notification is one desktop notification.
type Notification struct {
	// ID is the announcement's id.
	ID       string
	Severity string
	Title    string
	// Body is plain text (markers removed, no link targets).
	Body string
}

// Deps are what the poller works with.
type Deps struct {
	// Feed is required.
	Feed Feed
	// Notifier sends desktop notifications; nil sends none.
	Notifier Notifier
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand returns a number in [0,1) for jitter; nil means math/rand/v2.
	Rand func() float64
}

// Config tunes the poller. Zero values take the documented defaults.
type Config struct {
	// CacheDir holds CacheFile; "" means $XDG_CACHE_HOME/dienstweg.
	CacheDir string
	// StateDir holds StateFile; "" means logging.StateDir().
	StateDir string
	// Lang ("de" or "en") of notifications and Covering.
	Lang string
	// Groups of this device's user, if known; nil trusts the portal's
	// choice of audience (it filters by the device credential).
	Groups []string
	// Interval between polls; default 15 minutes. Each wait is jittered
	// by ±Jitter so that devices started at 8:00 spread out.
	Interval time.Duration
	// UrgentInterval replaces Interval while an outage is active, so the
	// all-clear arrives soon; default 2 minutes.
	UrgentInterval time.Duration
	// Jitter is the relative spread of each wait, 0 to 1; default 0.25.
	// After failures it is the random share of each back-off step.
	Jitter float64
	// FirstPoll is the longest wait before the first poll; default 30 s.
	// The cached feed is shown meanwhile.
	FirstPoll time.Duration
	// MaxBackoff caps the wait after repeated failures; default 1 hour.
	MaxBackoff time.Duration
}

// Poller keeps the announcements. Its methods are safe for concurrent use.
type Poller struct {
	deps      Deps
	unread    *state.Value[state.Announcements]
	cfg       Config
	log       *slog.Logger
	cachePath string
	statePath string

	pollMu sync.Mutex // one poll at a time
	pubMu  sync.Mutex // one publish at a time, so counts never go back

	mu       sync.Mutex
	feed     cached
	read     map[string]bool
	notified map[string]bool
	failures int
}

// New loads the cached feed and the read state and publishes the unread
// counts, so the tray is right before the first poll. A damaged cache or
// state file is logged and replaced, never fatal.
func New(deps Deps, cfg Config) (*Poller, error) {
	if deps.Feed == nil {
		return nil, errors.New("announcements need a feed")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Rand == nil {
		deps.Rand = rand.Float64
	}
	if cfg.CacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("finding cache directory: %w", err)
		}
		cfg.CacheDir = filepath.Join(base, "dienstweg")
	}
	if cfg.StateDir == "" {
		d, err := logging.StateDir()
		if err != nil {
			return nil, err
		}
		cfg.StateDir = d
	}
	if cfg.Lang != "en" {
		cfg.Lang = "de"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Minute
	}
	if cfg.UrgentInterval <= 0 {
		cfg.UrgentInterval = 2 * time.Minute
	}
	if cfg.Jitter <= 0 || cfg.Jitter > 1 {
		cfg.Jitter = 0.25
	}
	if cfg.FirstPoll <= 0 {
		cfg.FirstPoll = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	p := &Poller{
		unread:    state.NewValue(state.Announcements{}),
		deps:      deps,
		cfg:       cfg,
		log:       deps.Logger.With("component", "announcements"),
		cachePath: filepath.Join(cfg.CacheDir, CacheFile),
		statePath: filepath.Join(cfg.StateDir, StateFile),
		read:      map[string]bool{},
		notified:  map[string]bool{},
	}
	c, dropped, err := loadCache(p.cachePath)
	if err != nil {
		p.log.Warn("ignoring announcement cache; no announcements until the next poll", "path", p.cachePath, "err", err)
	}
	if len(dropped) > 0 {
		p.log.Warn("ignoring damaged parts of the announcement cache", "path", p.cachePath, "dropped", dropped)
	}
	p.feed = c
	st, err := loadState(p.statePath)
	if err != nil {
		// Only what was read and notified is lost: announcements show as
		// unread, and current outages notify once more.
		p.log.Warn("ignoring announcement read state; all announcements count as unread", "path", p.statePath, "err", err)
	}
	for _, id := range st.Read {
		p.read[id] = true
	}
	for _, id := range st.Notified {
		p.notified[id] = true
	}
	p.publish()
	return p, nil
}

// Run polls until ctx ends. It also wakes when an announcement starts or
// ends, so the counts follow the validity windows between polls. Waits
// use real timers; the injected clock only places the boundaries.
func (p *Poller) Run(ctx context.Context) error {
	wait := backoff.Jitter(p.cfg.FirstPoll, 1, p.rand)
	for {
		pollT := time.NewTimer(wait)
		for waiting := true; waiting; {
			var boundary <-chan time.Time
			var bt *time.Timer
			if d, ok := p.untilBoundary(); ok {
				bt = time.NewTimer(d)
				boundary = bt.C
			}
			select {
			case <-ctx.Done():
				pollT.Stop()
				if bt != nil {
					bt.Stop()
				}
				return nil
			case <-pollT.C:
				waiting = false
			case <-boundary:
				p.Refresh(ctx)
			}
			if bt != nil {
				bt.Stop()
			}
		}
		err := p.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait = p.nextWait(err)
		p.log.Debug("next announcement poll", "in", wait.Round(time.Second))
	}
}

// Poll fetches the feed once. A 304 changes nothing and publishes nothing
// unless the validity windows moved on. A bad feed is logged and ignored:
// the last good one stays.
func (p *Poller) Poll(ctx context.Context) error {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	p.mu.Lock()
	etag := p.feed.ETag
	p.mu.Unlock()

	res, err := p.deps.Feed.Announcements(ctx, etag)
	if err != nil {
		p.mu.Lock()
		p.failures++
		p.mu.Unlock()
		switch portal.KindOf(err) {
		case portal.KindProtocol:
			p.log.Warn("ignored malformed announcement feed; keeping the last good one", "err", err)
		case portal.KindOverloaded:
			p.log.Info("portal overloaded; backing off", "err", err)
		default:
			p.log.Info("announcements not fetched; showing the cached ones", "err", err)
		}
		p.Refresh(ctx)
		return fmt.Errorf("polling announcements: %w", err)
	}
	p.mu.Lock()
	p.failures = 0
	p.mu.Unlock()
	if !res.NotModified {
		if err := p.accept(res); err != nil {
			p.log.Warn("ignored announcement feed; keeping the last good one", "err", err)
			p.Refresh(ctx)
			return fmt.Errorf("polling announcements: %w", err)
		}
	}
	p.Refresh(ctx)
	return nil
}

// errBadFeed marks a feed refused as a whole.
var errBadFeed = errors.New("bad announcement feed")

// accept checks a new feed and makes it the current one.
func (p *Poller) accept(res *portal.Announcements) error {
	enc, err := json.Marshal(res.Items)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadFeed, err)
	}
	if err := checkFeed(res.Items, len(enc)); err != nil {
		return fmt.Errorf("%w: %v", errBadFeed, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := map[string]portal.Announcement{}
	for _, a := range p.feed.Items {
		prev[a.ID] = a
	}
	seen := map[string]bool{}
	var items []portal.Announcement
	for _, a := range res.Items {
		if seen[a.ID] {
			p.log.Warn("ignored duplicate announcement", "id", a.ID)
			continue
		}
		seen[a.ID] = true
		c, probs, ok := clean(a)
		for _, pr := range probs {
			p.log.Warn("announcement problem", "id", pr.id, "problem", pr.reason)
		}
		if !ok {
			// What the employee may already have seen stays as it was.
			if old, had := prev[a.ID]; had {
				items = append(items, old)
			}
			continue
		}
		items = append(items, c)
	}
	etag := res.ETag
	if !validETag(etag) {
		// It could not be sent back; fetch in full next time instead.
		p.log.Warn("ignoring the announcement feed's ETag", "etag", etag)
		etag = ""
	}
	p.feed = cached{Version: cacheVersion, ETag: etag, FetchedAt: p.deps.Now(), Items: items}
	if err := writeJSON(p.cachePath, p.feed, 0o644); err != nil {
		// Shown anyway; only the offline copy is older.
		p.log.Warn("announcement cache not saved", "err", err)
	}
	// Forget ids that left the feed, so the state file stays small.
	p.pruneLocked()
	return nil
}

func (p *Poller) pruneLocked() {
	read, notified := prune(p.read, p.feed.Items), prune(p.notified, p.feed.Items)
	if len(read) == len(p.read) && len(notified) == len(p.notified) {
		return
	}
	p.read, p.notified = set(read), set(notified)
	p.saveStateLocked()
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func (p *Poller) saveStateLocked() {
	st := readState{Read: keys(p.read), Notified: keys(p.notified)}
	if err := writeJSON(p.statePath, st, 0o600); err != nil {
		p.log.Warn("announcement read state not saved", "err", err)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Refresh publishes the counts for the current time and notifies about
// outages and maintenance that became visible. Run calls it; it needs no
// network.
func (p *Poller) Refresh(ctx context.Context) {
	p.publish()
	p.notifyNew(ctx)
}

// publish updates the store only when the counts differ, so a 304 causes
// no work in the tray or the windows.
func (p *Poller) publish() {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	var sum state.Announcements
	for _, it := range p.List(p.cfg.Lang) {
		if !it.Read {
			sum.Unread++
			sum.UnreadUrgent = sum.UnreadUrgent || it.Urgent()
		}
	}
	p.unread.Set(func(s *state.Announcements) { *s = sum })
}

// Unread is the poller's own state: the unread counts for the tray badge.
func (p *Poller) Unread() state.Announcements { return p.unread.Get() }

// SubscribeUnread follows Unread: the channel holds the current counts at
// once and then always the newest; it changes only when they do.
func (p *Poller) SubscribeUnread() (<-chan state.Announcements, func()) {
	return p.unread.Subscribe()
}

// notifyNew sends one notification per visible, unread outage or
// maintenance never notified before, and remembers it on disk at once so
// that neither the next poll nor a restart repeats it.
func (p *Poller) notifyNew(ctx context.Context) {
	var todo []Item
	p.mu.Lock()
	for _, it := range p.listLocked(p.cfg.Lang, p.deps.Now()) {
		if it.Urgent() && !it.Read && !p.notified[it.ID] {
			todo = append(todo, it)
			p.notified[it.ID] = true
		}
	}
	if len(todo) > 0 {
		p.saveStateLocked()
	}
	p.mu.Unlock()
	if p.deps.Notifier == nil {
		return
	}
	// Oldest first, so the newest ends on top of the desktop's stack.
	slices.Reverse(todo)
	for _, it := range todo {
		n := Notification{ID: it.ID, Severity: it.Severity, Title: it.Title, Body: oneLine(PlainText(Parse(it.Body)), 300)}
		if err := p.deps.Notifier.Notify(ctx, n); err != nil {
			// The tray badge still shows it; do not retry on every poll.
			p.log.Info("desktop notification not shown", "id", it.ID, "err", err)
		}
	}
}

// List returns the announcements visible now in lang, newest first.
func (p *Poller) List(lang string) []Item {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.listLocked(lang, p.deps.Now())
}

func (p *Poller) listLocked(lang string, now time.Time) []Item {
	out := []Item{}
	for _, a := range p.feed.Items {
		if visibleAt(a, now, p.cfg.Groups) {
			out = append(out, itemOf(a, lang, p.read[a.ID]))
		}
	}
	sortNewestFirst(out)
	return out
}

// MarkRead marks the given announcements read; unknown ids are ignored.
func (p *Poller) MarkRead(ids []string) error {
	p.mu.Lock()
	known := map[string]bool{}
	for _, a := range p.feed.Items {
		known[a.ID] = true
	}
	changed := false
	for _, id := range ids {
		if known[id] && !p.read[id] {
			p.read[id] = true
			changed = true
		}
	}
	var err error
	if changed {
		st := readState{Read: keys(p.read), Notified: keys(p.notified)}
		err = writeJSON(p.statePath, st, 0o600)
	}
	p.mu.Unlock()
	if changed {
		p.publish()
	}
	if err != nil {
		return fmt.Errorf("saving read state: %w", err)
	}
	return nil
}

// MarkAllRead marks every visible announcement read.
func (p *Poller) MarkAllRead() error {
	var ids []string
	for _, it := range p.List(p.cfg.Lang) {
		ids = append(ids, it.ID)
	}
	return p.MarkRead(ids)
}

// Covering returns the newest outage or maintenance active at now that
// covers component (see the Component constants), or nil. The health
// checks use it so a diagnosis can point to IT's announcement instead of
// sending the employee to the helpdesk.
func (p *Poller) Covering(component string, now time.Time) *Item {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, it := range p.listLocked(p.cfg.Lang, now) {
		if it.Urgent() && covers(it.Covers, component) {
			return &it
		}
	}
	return nil
}

// nextWait is the wait after a poll that ended with err: the interval
// (shorter during an outage) spread by ±Jitter, or after failures an
// exponential back-off from it that is at least the portal's Retry-After.
func (p *Poller) nextWait(err error) time.Duration {
	p.mu.Lock()
	failures := p.failures
	urgent := false
	for _, it := range p.listLocked(p.cfg.Lang, p.deps.Now()) {
		urgent = urgent || it.Severity == SeverityOutage
	}
	p.mu.Unlock()
	base := p.cfg.Interval
	if urgent {
		base = p.cfg.UrgentInterval
	}
	if err == nil || failures == 0 {
		return backoff.Spread(base, p.cfg.Jitter, p.rand)
	}
	var retryAfter time.Duration
	var pe *portal.Error
	if errors.As(err, &pe) {
		// A date far ahead must not overflow into a negative wait
		// (polling at once, again and again) nor stop polling for good.
		retryAfter = min(pe.RetryAfter, maxSleep)
	}
	return backoff.Policy{Base: base, Max: p.cfg.MaxBackoff, Jitter: p.cfg.Jitter, Rand: p.rand}.Wait(failures, retryAfter)
}

var randMu sync.Mutex

func (p *Poller) rand() float64 {
	randMu.Lock()
	defer randMu.Unlock()
	return p.deps.Rand()
}

// maxSleep bounds one wait of Run; it wakes, finds nothing due and waits
// again. Far-off times (IT's "valid until 9999-12-31") would otherwise
// overflow a time.Duration into a negative wait, and Run would spin.
const maxSleep = 24 * time.Hour

// untilBoundary is how long Run waits for the next start or end of an
// announcement: a second past it, so it has passed for sure.
func (p *Poller) untilBoundary() (time.Duration, bool) {
	b, ok := p.nextBoundary()
	if !ok {
		return 0, false
	}
	return min(b.Sub(p.deps.Now()), maxSleep) + time.Second, true
}

// nextBoundary is the next start or end of a cached announcement.
func (p *Poller) nextBoundary() (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.deps.Now()
	var next time.Time
	for _, a := range p.feed.Items {
		for _, t := range []time.Time{a.ValidFrom, a.ValidUntil} {
			if t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	return next, !next.IsZero()
}
