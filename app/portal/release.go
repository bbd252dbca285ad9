package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aead.dev/minisign"

	"github.com/dienstweg/dienstweg/internal/update"
)

// updateKeysFile in the data directory lists the organisation's update
// keys, the same as the profile's update_keys.
const updateKeysFile = "update-keys.pub"

// loadUpdateKeys reads minisign public keys, one per line; blank lines,
// "#" lines and the "untrusted comment:" lines of .pub files are skipped,
// so .pub files can simply be concatenated.
func loadUpdateKeys(path string) ([]minisign.PublicKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no update keys: put the minisign public keys of the profile's update_keys into %s (one per line) or pass --keys FILE", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading update keys: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "untrusted comment:") {
			continue
		}
		lines = append(lines, l)
	}
	keys, err := update.ParseKeys(lines)
	if err != nil {
		return nil, fmt.Errorf("update keys in %s: %w", path, err)
	}
	return keys, nil
}

// verifyRelease refuses, before anything is published, what every client
// would refuse: a manifest that does not verify with any of the update
// keys, one for another channel or already expired, and files that are
// missing or do not match it. The checks are the client's own
// (update.VerifyManifest).
func verifyRelease(keys []minisign.PublicKey, channel string, manifest, sig []byte, files []string, publishedDir string, now time.Time) error {
	m, err := update.VerifyManifest(manifest, sig, keys)
	if err != nil {
		return fmt.Errorf("refusing to publish, no client would install it: %w", err)
	}
	if m.Channel != channel {
		return fmt.Errorf("refusing to publish: the manifest is for channel %q, not %q", m.Channel, channel)
	}
	if !now.Before(m.Expires) {
		return fmt.Errorf("refusing to publish: the manifest expired at %s; sign it again with a later expires", m.Expires.Format(time.RFC3339))
	}
	given := map[string]string{}
	for _, f := range files {
		given[filepath.Base(f)] = f
	}
	named := map[string]bool{}
	// find is a file the manifest names: given now, or published earlier.
	find := func(name string) (string, error) {
		named[name] = true
		if p, ok := given[name]; ok {
			return p, nil
		}
		p := filepath.Join(publishedDir, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("refusing to publish: the manifest names %s, which is neither given nor published", name)
		}
		return p, nil
	}
	for plat, art := range m.Platforms {
		p, err := find(art.File)
		if err != nil {
			return err
		}
		b, err := checkReleaseFile(p, art.Size, art.SHA256)
		if err != nil {
			return fmt.Errorf("refusing to publish %s (%s): %w", art.File, plat, err)
		}
		if !verifiesWithAny(keys, b, []byte(art.Minisig)) {
			return fmt.Errorf("refusing to publish %s (%s): its minisig does not verify with any update key", art.File, plat)
		}
		for _, pt := range art.Patches {
			p, err := find(pt.File)
			if err != nil {
				return err
			}
			if _, err := checkReleaseFile(p, pt.Size, pt.SHA256); err != nil {
				return fmt.Errorf("refusing to publish patch %s: %w", pt.File, err)
			}
		}
	}
	for name := range given {
		if !named[name] {
			return fmt.Errorf("refusing to publish: %s is not named in the manifest", name)
		}
	}
	return nil
}

func checkReleaseFile(path string, size int64, sum string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if int64(len(b)) != size {
		return nil, fmt.Errorf("%d bytes, the manifest says %d", len(b), size)
	}
	got := sha256.Sum256(b)
	if !strings.EqualFold(hex.EncodeToString(got[:]), sum) {
		return nil, errors.New("its SHA-256 differs from the manifest's")
	}
	return b, nil
}

func verifiesWithAny(keys []minisign.PublicKey, msg, sig []byte) bool {
	for _, k := range keys {
		if minisign.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}
