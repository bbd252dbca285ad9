// Package announce keeps IT's announcements on this device: it polls the
// portal's feed (ETag, jitter, back-off), caches the last good feed on
// disk so announcements read offline and right after login, keeps read
// state per announcement, publishes the unread counts to the state store,
// sends one desktop notification per new outage or maintenance, and
// answers which announcement covers a failing part of the connection.
// It knows nothing about how announcements are shown.
package announce

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// Severities, as in the portal API.
const (
	SeverityInfo        = api.SeverityInfo
	SeverityMaintenance = api.SeverityMaintenance
	SeverityOutage      = api.SeverityOutage
)

// AudienceAll addresses every device.
const AudienceAll = "all"

// Limits on what the client accepts. A feed beyond them is ignored as a
// whole and the last good one kept: a portal sending that much is broken
// or compromised, and the tray must not stall on it.
const (
	// MaxItems is the most announcements a feed may carry.
	MaxItems = 100
	// MaxFeedBytes bounds the encoded feed (the portal client itself
	// refuses answers over 1 MiB).
	MaxFeedBytes = 256 << 10
	// MaxTitleRunes and MaxBodyBytes bound one announcement's texts;
	// longer ones are cut, not refused.
	MaxTitleRunes = 200
	MaxBodyBytes  = 16 << 10
)

// Item is one announcement as the window and the local API show it, in one
// language.
type Item struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	// Time is when IT last changed it (or its start, if unknown).
	Time       time.Time `json:"time"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	Title      string    `json:"title"`
	// Body is the Markdown subset source; render it with Parse.
	Body string `json:"body"`
	// Lang is the language of Title and Body ("de" or "en"); it differs
	// from the one asked for when only the other one exists.
	Lang string `json:"lang"`
	Read bool   `json:"read"`
	// Covers names the parts of the connection it is about (see Covering).
	Covers []string `json:"covers,omitempty"`
}

// Urgent reports whether the item is an outage or maintenance: those badge
// the tray icon and raise a desktop notification.
func (it Item) Urgent() bool { return isUrgent(it.Severity) }

func isUrgent(sev string) bool { return sev == SeverityOutage || sev == SeverityMaintenance }

// problem is why an announcement or a feed is refused, for the log.
type problem struct {
	id     string
	reason string
}

// checkFeed applies the feed-wide limits.
func checkFeed(items []portal.Announcement, encodedSize int) error {
	if len(items) > MaxItems {
		return fmt.Errorf("feed has %d announcements, limit %d", len(items), MaxItems)
	}
	if encodedSize > MaxFeedBytes {
		return fmt.Errorf("feed has %d bytes, limit %d", encodedSize, MaxFeedBytes)
	}
	return nil
}

// clean validates and normalises one announcement. ok is false when it
// cannot be shown at all.
func clean(a portal.Announcement) (portal.Announcement, []problem, bool) {
	var probs []problem
	note := func(format string, args ...any) {
		probs = append(probs, problem{id: a.ID, reason: fmt.Sprintf(format, args...)})
	}
	if a.ID == "" || len(a.ID) > 64 || !utf8.ValidString(a.ID) {
		note("invalid id")
		return a, probs, false
	}
	a.Title.DE, a.Title.EN = oneLine(a.Title.DE, MaxTitleRunes), oneLine(a.Title.EN, MaxTitleRunes)
	a.Body.DE, a.Body.EN = bodyText(a.Body.DE), bodyText(a.Body.EN)
	if a.Title.DE == "" && a.Title.EN == "" && a.Body.DE == "" && a.Body.EN == "" {
		note("no text in either language")
		return a, probs, false
	}
	switch a.Severity {
	case SeverityInfo, SeverityMaintenance, SeverityOutage:
	default:
		// A newer portal may know more severities; show them as info
		// rather than hiding what IT wanted people to read.
		note("unknown severity %q shown as info", a.Severity)
		a.Severity = SeverityInfo
	}
	if !a.ValidUntil.IsZero() && !a.ValidUntil.After(a.ValidFrom) {
		note("valid_until %s is not after valid_from %s", a.ValidUntil.Format(time.RFC3339), a.ValidFrom.Format(time.RFC3339))
		return a, probs, false
	}
	return a, probs, true
}

func oneLine(s string, maxRunes int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if utf8.RuneCountInString(s) > maxRunes {
		s = string([]rune(s)[:maxRunes-1]) + "…"
	}
	return s
}

func bodyText(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) > MaxBodyBytes {
		cut := MaxBodyBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// visibleAt reports whether a is inside its validity window at now and
// addressed to one of groups. nil groups means the device does not know
// its groups; the portal already chose the announcements for this
// device's credential, so then only the window is checked.
func visibleAt(a portal.Announcement, now time.Time, groups []string) bool {
	if now.Before(a.ValidFrom) || (!a.ValidUntil.IsZero() && !now.Before(a.ValidUntil)) {
		return false
	}
	if groups == nil || len(a.Audience) == 0 || slices.Contains(a.Audience, AudienceAll) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(a.Audience, g) {
			return true
		}
	}
	return false
}

// itemOf renders a in lang ("de" or "en"). Title and body come from the
// same language where that language has any text, so one item does not
// mix languages needlessly; a missing title or body falls back to the
// other language.
func itemOf(a portal.Announcement, lang string, read bool) Item {
	if lang != "en" {
		lang = "de"
	}
	src := lang
	if text(a.Title, lang) == "" && text(a.Body, lang) == "" {
		src = otherLang(lang)
	}
	title, body := text(a.Title, src), text(a.Body, src)
	if title == "" {
		title = text(a.Title, otherLang(src))
	}
	if body == "" {
		body = text(a.Body, otherLang(src))
	}
	if title == "" {
		// A body without a title: its first line stands in.
		title = oneLine(PlainText(Parse(firstLine(body))), MaxTitleRunes)
	}
	t := a.UpdatedAt
	if t.IsZero() {
		t = a.ValidFrom
	}
	return Item{
		ID:         a.ID,
		Severity:   a.Severity,
		Time:       t,
		ValidFrom:  a.ValidFrom,
		ValidUntil: a.ValidUntil,
		Title:      title,
		Body:       body,
		Lang:       src,
		Read:       read,
		Covers:     coversOf(a),
	}
}

func text(t api.Text, lang string) string {
	if lang == "en" {
		return t.EN
	}
	return t.DE
}

func otherLang(lang string) string {
	if lang == "en" {
		return "de"
	}
	return "en"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// sortNewestFirst orders by Time, newest first; ties by id for a stable
// list.
func sortNewestFirst(items []Item) {
	slices.SortStableFunc(items, func(a, b Item) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
