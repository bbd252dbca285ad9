package portalsrv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// AudienceAll addresses everyone, also devices that poll without a
// credential.
const AudienceAll = "all"

// announcementCache keeps the encoded answer per audience, because every
// client polls and nearly every poll ends in 304. It reloads when the
// store's revision changes (checked at most once per revisionCheck, so the
// CLI writing the same database is seen within a second) and when an
// announcement becomes or stops being valid.
type announcementCache struct {
	srv *Server

	mu           sync.Mutex
	rev          int64
	loaded       bool
	checkedAt    time.Time
	all          []store.Announcement
	nextBoundary time.Time
	byAudience   map[string]*annEntry
}

type annEntry struct {
	etag string
	body []byte
}

const revisionCheck = time.Second

func (c *announcementCache) get(ctx context.Context, groups []string, now time.Time) (*annEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded || now.Sub(c.checkedAt) >= revisionCheck || now.Before(c.checkedAt) {
		rev, err := c.srv.st.Revision(ctx)
		if err != nil {
			return nil, err
		}
		c.checkedAt = now
		if !c.loaded || rev != c.rev {
			all, err := c.srv.st.Announcements(ctx)
			if err != nil {
				return nil, err
			}
			c.all, c.rev, c.loaded = all, rev, true
			c.byAudience = nil
		}
	}
	if c.byAudience == nil || !now.Before(c.nextBoundary) {
		c.byAudience = map[string]*annEntry{}
		c.nextBoundary = nextBoundary(c.all, now)
	}
	key := strings.Join(groups, "\x00")
	if e, ok := c.byAudience[key]; ok {
		return e, nil
	}
	e, err := encodeAnnouncements(visible(c.all, groups, now))
	if err != nil {
		return nil, err
	}
	c.byAudience[key] = e
	return e, nil
}

// nextBoundary is the next valid_from or valid_until after now.
func nextBoundary(all []store.Announcement, now time.Time) time.Time {
	next := now.Add(24 * time.Hour)
	for _, a := range all {
		for _, t := range []time.Time{a.ValidFrom, a.ValidUntil} {
			if t.After(now) && t.Before(next) {
				next = t
			}
		}
	}
	return next
}

func visible(all []store.Announcement, groups []string, now time.Time) []api.Announcement {
	out := []api.Announcement{}
	for _, a := range all {
		if now.Before(a.ValidFrom) || !now.Before(a.ValidUntil) {
			continue
		}
		if !forAudience(a.Audience, groups) {
			continue
		}
		out = append(out, toAPIAnnouncement(a))
	}
	return out
}

func forAudience(audience, groups []string) bool {
	if len(audience) == 0 || slices.Contains(audience, AudienceAll) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(audience, g) {
			return true
		}
	}
	return false
}

func toAPIAnnouncement(a store.Announcement) api.Announcement {
	aud := a.Audience
	if len(aud) == 0 {
		aud = []string{AudienceAll}
	}
	return api.Announcement{
		ID:         a.ID,
		Severity:   a.Severity,
		Title:      api.Text{DE: a.TitleDE, EN: a.TitleEN},
		Body:       api.Text{DE: a.BodyDE, EN: a.BodyEN},
		ValidFrom:  a.ValidFrom.UTC(),
		ValidUntil: a.ValidUntil.UTC(),
		Audience:   aud,
		UpdatedAt:  a.UpdatedAt.UTC(),
	}
}

func encodeAnnouncements(list []api.Announcement) (*annEntry, error) {
	b, err := json.Marshal(api.Announcements{Announcements: list})
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	sum := sha256.Sum256(b)
	return &annEntry{etag: `"` + hex.EncodeToString(sum[:12]) + `"`, body: b}, nil
}

// etagMatch implements If-None-Match for strong ETags (weak ones compare
// equal too, as RFC 9110 asks for GET).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func (s *Server) handleAnnouncements(w http.ResponseWriter, r *http.Request) {
	var groups []string
	_, u, err := s.device(r, true)
	switch {
	case errors.Is(err, errNoCredential):
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		groups = u.Groups
	}
	e, err := s.ann.get(r.Context(), groups, s.cfg.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.announcementPolls.Inc()
	h := w.Header()
	h.Set("ETag", e.etag)
	// Clients must revalidate; intermediaries must not share answers that
	// depend on the credential.
	h.Set("Cache-Control", "private, no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, e.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(e.body)
}

// Severities accepted for announcements.
var severities = []string{api.SeverityInfo, api.SeverityMaintenance, api.SeverityOutage}

// ValidateAnnouncement checks what the CLI and the demo store.
func ValidateAnnouncement(a store.Announcement) error {
	var problems []string
	if a.ID == "" || len(a.ID) > 64 {
		problems = append(problems, "id must have 1 to 64 characters")
	}
	if !slices.Contains(severities, a.Severity) {
		problems = append(problems, fmt.Sprintf("severity %q is not one of %s", a.Severity, strings.Join(severities, ", ")))
	}
	if a.TitleDE == "" || a.TitleEN == "" {
		problems = append(problems, "title needs German and English text")
	}
	if !a.ValidUntil.After(a.ValidFrom) {
		problems = append(problems, "valid_until must be after valid_from")
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid announcement: %s", strings.Join(problems, "; "))
	}
	return nil
}
