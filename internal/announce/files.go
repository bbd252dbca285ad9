package announce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// loadCache reads the cached feed. A missing file is an empty cache; a
// damaged one is an error the caller logs before starting empty.
func loadCache(path string) (cached, error) {
	var c cached
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cached{Version: cacheVersion}, nil
	}
	if err != nil {
		return cached{Version: cacheVersion}, fmt.Errorf("reading announcement cache: %w", err)
	}
	if len(b) > 2*MaxFeedBytes {
		return cached{Version: cacheVersion}, fmt.Errorf("announcement cache %s has %d bytes", path, len(b))
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return cached{Version: cacheVersion}, fmt.Errorf("decoding announcement cache: %w", err)
	}
	if c.Version != cacheVersion {
		return cached{Version: cacheVersion}, fmt.Errorf("announcement cache has version %d, want %d", c.Version, cacheVersion)
	}
	// The cache was checked before it was written, but it lives in a
	// directory the user can edit: check it again.
	good := c.Items[:0]
	for _, a := range c.Items {
		if a, _, ok := clean(a); ok {
			good = append(good, a)
		}
	}
	c.Items = good
	if len(c.Items) > MaxItems {
		c.Items = c.Items[:MaxItems]
	}
	return c, nil
}

func loadState(path string) (readState, error) {
	var s readState
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("reading announcement state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return readState{}, fmt.Errorf("decoding announcement state: %w", err)
	}
	return s, nil
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
