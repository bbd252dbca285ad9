// Package update keeps Dienstweg current: it reads the organisation's
// signed release manifest from the portal, decides whether this device
// should update, downloads and verifies the new binary, replaces the
// installed one with github.com/minio/selfupdate and, after a restart,
// checks that the new version works, rolling back if it does not.
//
// Trust comes from minisign signatures made with keys listed in the
// organisation profile: one over the manifest (which binds version,
// channel, expiry, size and SHA-256 of every file) and one over each
// binary. Nothing downloaded is executed or installed before both verify.
// See docs/updates.md.
package update

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"aead.dev/minisign"
)

// Schema is the manifest format version this client understands.
const Schema = 1

// maxManifestSize bounds what we parse; a real manifest is a few KB.
const maxManifestSize = 1 << 20

// Manifest is the signed description of one release on one channel.
// Unknown fields are ignored so a later schema can add some; a new
// incompatible format gets a new Schema number.
type Manifest struct {
	Schema  int    `json:"schema"`
	Product string `json:"product"`
	Version string `json:"version"`
	Channel string `json:"channel"`
	// MinimumVersion: devices running an older version are no longer
	// supported and get this release regardless of RolloutPercent.
	MinimumVersion string `json:"minimum_version,omitempty"`
	// RolloutPercent (0..100) of devices, chosen by a stable hash of the
	// device id and the version, see InRollout.
	RolloutPercent int       `json:"rollout_percent"`
	Published      time.Time `json:"published"`
	// Expires protects against a frozen or replayed mirror: IT re-signs
	// the manifest before this time even when nothing changed.
	Expires time.Time `json:"expires"`
	// Notes are short release notes by language ("de", "en").
	Notes map[string]string `json:"notes,omitempty"`
	// Platforms maps "GOOS/GOARCH" to the build for it.
	Platforms map[string]Artifact `json:"platforms"`
}

// Artifact is the binary for one platform.
type Artifact struct {
	// File is the name under the portal's release channel.
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Minisig is the binary's own minisign signature (the text of
	// FILE.minisig), made with one of the update keys.
	Minisig string `json:"minisig"`
	// Patches are optional bsdiff patches from earlier versions to this
	// binary. The patched result must match Size, SHA256 and Minisig.
	Patches []Patch `json:"patches,omitempty"`
}

// Patch is a bsdiff patch from one exact earlier binary.
type Patch struct {
	FromVersion string `json:"from_version"`
	// FromSHA256 is the hash of the binary the patch applies to; it is
	// used only if the installed binary matches it byte for byte.
	FromSHA256 string `json:"from_sha256"`
	File       string `json:"file"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
}

// PlatformKey is the Platforms key for goos and goarch.
func PlatformKey(goos, goarch string) string { return goos + "/" + goarch }

// ParseKeys parses minisign public keys as the profile carries them: the
// base64 line of a .pub file, or the whole file with its comment line.
func ParseKeys(texts []string) ([]minisign.PublicKey, error) {
	var keys []minisign.PublicKey
	for i, t := range texts {
		var k minisign.PublicKey
		if err := k.UnmarshalText([]byte(strings.TrimSpace(t))); err != nil {
			return nil, fmt.Errorf("update key %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no update keys in the profile")
	}
	return keys, nil
}

// verifySignature checks a minisign signature over msg against the keys.
// It tells an unknown key (rotation went wrong, or a forgery with a key of
// its own) from a signature that does not match.
func verifySignature(keys []minisign.PublicKey, msg, sig []byte, badCode Code, what string) error {
	var s minisign.Signature
	if err := s.UnmarshalText(sig); err != nil {
		return errf(badCode, "%s: unreadable minisign signature: %v", what, err)
	}
	for _, k := range keys {
		if k.ID() != s.KeyID {
			continue
		}
		if minisign.Verify(k, msg, sig) {
			return nil
		}
		return errf(badCode, "%s: signature by key %X does not verify", what, s.KeyID)
	}
	if badCode == CodeBadSignature {
		return errf(CodeUnknownKey, "%s: signed by key %X, which is not among the %d update keys of the profile", what, s.KeyID, len(keys))
	}
	return errf(badCode, "%s: signed by unknown key %X", what, s.KeyID)
}

// VerifyManifest checks the manifest's signature with the keys and then
// parses it. Nothing in raw is looked at before the signature verifies.
func VerifyManifest(raw, sig []byte, keys []minisign.PublicKey) (*Manifest, error) {
	if len(raw) > maxManifestSize {
		return nil, errf(CodeMalformed, "manifest of %d bytes is too large", len(raw))
	}
	if err := verifySignature(keys, raw, sig, CodeBadSignature, "manifest"); err != nil {
		return nil, err
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return nil, errf(CodeMalformed, "manifest: %v", err)
	}
	// Exactly one JSON value: bytes after it were signed too, and another
	// reader of the same file might take them for the manifest.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errf(CodeMalformed, "manifest: data after the JSON object")
	}
	if err := m.validate(); err != nil {
		return nil, &Error{Code: CodeMalformed, Err: err}
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Schema != Schema {
		return fmt.Errorf("manifest schema %d, this client understands %d", m.Schema, Schema)
	}
	if m.Product != "dienstweg" {
		return fmt.Errorf("manifest is for product %q", m.Product)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return err
	}
	if m.MinimumVersion != "" {
		if _, err := ParseVersion(m.MinimumVersion); err != nil {
			return fmt.Errorf("minimum_version: %w", err)
		}
	}
	if m.Channel == "" {
		return errors.New("manifest has no channel")
	}
	if m.RolloutPercent < 0 || m.RolloutPercent > 100 {
		return fmt.Errorf("rollout_percent %d outside 0..100", m.RolloutPercent)
	}
	if m.Expires.IsZero() {
		return errors.New("manifest has no expiry")
	}
	for p, a := range m.Platforms {
		if err := checkFile(a.File, a.Size, a.SHA256); err != nil {
			return fmt.Errorf("platform %s: %w", p, err)
		}
		if a.Minisig == "" {
			return fmt.Errorf("platform %s: no minisig", p)
		}
		for _, pt := range a.Patches {
			if err := checkFile(pt.File, pt.Size, pt.SHA256); err != nil {
				return fmt.Errorf("platform %s: patch from %s: %w", p, pt.FromVersion, err)
			}
			if _, err := hex.DecodeString(pt.FromSHA256); err != nil || len(pt.FromSHA256) != 2*sha256.Size {
				return fmt.Errorf("platform %s: patch from %s: bad from_sha256", p, pt.FromVersion)
			}
		}
	}
	return nil
}

func checkFile(name string, size int64, sum string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("bad file name %q", name)
	}
	if size <= 0 {
		return fmt.Errorf("file %s: bad size %d", name, size)
	}
	if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("file %s: bad sha256", name)
	}
	return nil
}

// Target is what a manifest is judged against.
type Target struct {
	// Version is the running version.
	Version string
	// Channel is the profile's channel.
	Channel string
	// GOOS and GOARCH of this build.
	GOOS, GOARCH string
	// DeviceID places the device in the rollout.
	DeviceID []byte
	// Now is the current time.
	Now time.Time
}

// Verdict is the outcome of Evaluate for a manifest that passed every
// security check.
type Verdict int

// The verdicts.
const (
	// UpToDate: the manifest's version is the running one.
	UpToDate Verdict = iota
	// NotYet: newer, but this device is outside the rollout percentage.
	NotYet
	// Available: newer and meant for this device.
	Available
)

// Evaluate applies the checks after the signature: expiry, channel,
// version (no downgrade) and rollout, then picks this platform's build.
// Security failures are *Error; the artifact is nil unless Available.
func Evaluate(m *Manifest, t Target) (Verdict, *Artifact, error) {
	if !t.Now.Before(m.Expires) {
		return 0, nil, errf(CodeExpired, "manifest for %s expired at %s (now %s); the portal may serve a stale copy",
			m.Version, m.Expires.UTC().Format(time.RFC3339), t.Now.UTC().Format(time.RFC3339))
	}
	if m.Channel != t.Channel {
		return 0, nil, errf(CodeWrongChannel, "manifest is for channel %q, this device follows %q", m.Channel, t.Channel)
	}
	cmp, err := compareVersions(m.Version, t.Version)
	if err != nil {
		return 0, nil, errf(CodeMalformed, "comparing versions: %v", err)
	}
	if cmp < 0 {
		return 0, nil, errf(CodeDowngrade, "manifest offers %s, older than the running %s; downgrades are refused", m.Version, t.Version)
	}
	if cmp == 0 {
		return UpToDate, nil, nil
	}
	unsupported := false
	if m.MinimumVersion != "" {
		c, err := compareVersions(t.Version, m.MinimumVersion)
		if err != nil {
			return 0, nil, errf(CodeMalformed, "comparing versions: %v", err)
		}
		unsupported = c < 0
	}
	if !unsupported && !InRollout(t.DeviceID, m.Version, m.RolloutPercent) {
		return NotYet, nil, nil
	}
	key := PlatformKey(t.GOOS, t.GOARCH)
	a, ok := m.Platforms[key]
	if !ok {
		return 0, nil, errf(CodeNoPlatform, "release %s has no build for %s", m.Version, key)
	}
	return Available, &a, nil
}

// InRollout reports whether the device falls into the first percent of
// 100 buckets for version. The version is part of the hash so that not
// always the same devices go first.
func InRollout(deviceID []byte, version string, percent int) bool {
	if percent >= 100 {
		return true
	}
	if percent <= 0 {
		return false
	}
	return Bucket(deviceID, version) < percent
}

// Bucket is the device's rollout bucket (0..99) for a version: a stable
// hash, so repeated checks agree and a device never flips in and out.
func Bucket(deviceID []byte, version string) int {
	h := sha256.New()
	h.Write([]byte("dienstweg-rollout\x00"))
	h.Write(deviceID)
	h.Write([]byte{0})
	h.Write([]byte(version))
	sum := h.Sum(nil)
	var n uint64
	for _, b := range sum[:8] {
		n = n<<8 | uint64(b)
	}
	return int(n % 100)
}
