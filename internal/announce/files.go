package announce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// File names in the cache and state directories.
const (
	// CacheFile holds the last good feed. It is not secret: the same
	// announcements are on every colleague's screen.
	CacheFile = "announcements.json"
	// StateFile holds which announcements were read and notified.
	StateFile = "announcements-state.json"
)

// cacheVersion changes when the cache format does; an unknown version is
// ignored like a damaged file.
const cacheVersion = 1

// cached is the disk form of the last good feed.
type cached struct {
	Version   int                   `json:"version"`
	ETag      string                `json:"etag,omitempty"`
	FetchedAt time.Time             `json:"fetched_at"`
	Items     []portal.Announcement `json:"announcements"`
}

// readState is the disk form of what the employee has seen.
type readState struct {
	Read     []string `json:"read"`
	Notified []string `json:"notified"`
}

// maxRemembered bounds the id lists in the state file; ids of
// announcements that left the feed are dropped first.
const maxRemembered = 1000

// maxStateBytes bounds the read state file: maxRemembered ids of at
// most 64 bytes in two lists fit in a fraction of it.
const maxStateBytes = 1 << 20

// loadCache reads the cached feed. A missing file is an empty cache; a
// damaged one is an error the caller logs before starting empty. Damaged
// parts (an announcement, a repeated id, an ETag that cannot be sent) are
// left out, each named in dropped, and the rest is kept.
func loadCache(path string) (c cached, dropped []string, err error) {
	empty := cached{Version: cacheVersion}
	b, err := readBounded(path, 2*MaxFeedBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return empty, nil, nil
	}
	if err != nil {
		return empty, nil, fmt.Errorf("reading announcement cache: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return empty, nil, fmt.Errorf("decoding announcement cache %s: %w", path, err)
	}
	if c.Version != cacheVersion {
		return empty, nil, fmt.Errorf("announcement cache %s has version %d, want %d", path, c.Version, cacheVersion)
	}
	if !validETag(c.ETag) {
		// Sent back as If-None-Match, it would fail every poll, and the
		// cache is only rewritten after a poll that succeeds.
		dropped = append(dropped, fmt.Sprintf("etag %q", c.ETag))
		c.ETag = ""
	}
	// The cache was checked before it was written, but it lives in a
	// directory the user can edit: check it again.
	good := c.Items[:0]
	seen := map[string]bool{}
	for _, a := range c.Items {
		a, _, ok := clean(a)
		switch {
		case !ok:
			dropped = append(dropped, fmt.Sprintf("announcement %q", a.ID))
		case seen[a.ID]:
			dropped = append(dropped, fmt.Sprintf("repeated announcement %q", a.ID))
		default:
			seen[a.ID] = true
			good = append(good, a)
		}
	}
	c.Items = good
	if len(c.Items) > MaxItems {
		dropped = append(dropped, fmt.Sprintf("%d announcements over the limit of %d", len(c.Items)-MaxItems, MaxItems))
		c.Items = c.Items[:MaxItems]
	}
	return c, dropped, nil
}

// validETag reports whether an ETag can go back to the portal as a
// header value: no control characters, and not absurdly long.
func validETag(s string) bool {
	if len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func loadState(path string) (readState, error) {
	var s readState
	b, err := readBounded(path, maxStateBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("reading announcement state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return readState{}, fmt.Errorf("decoding announcement state %s: %w", path, err)
	}
	return s, nil
}

// readBounded reads path, refusing a file over limit bytes without
// reading all of it.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// writeJSON writes v to path atomically: a reader (or a crash) sees the
// old file or the new one, never half of it.
func writeJSON(path string, v any, perm os.FileMode) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), perm); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

// prune keeps the ids still in the feed, and at most maxRemembered.
func prune(ids map[string]bool, feed []portal.Announcement) []string {
	in := map[string]bool{}
	for _, a := range feed {
		in[a.ID] = true
	}
	var keep []string
	for id := range ids {
		if in[id] {
			keep = append(keep, id)
		}
	}
	slices.Sort(keep)
	if len(keep) > maxRemembered {
		keep = keep[len(keep)-maxRemembered:]
	}
	return keep
}
