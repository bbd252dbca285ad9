package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/update"
)

// release is a signed release in a temporary directory.
type release struct {
	manifest, bin string
	pub           minisign.PublicKey
	priv          minisign.PrivateKey
}

func newKey(tb testing.TB) (minisign.PublicKey, minisign.PrivateKey) {
	tb.Helper()
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		tb.Fatalf("GenerateKey: %v", err)
	}
	return pub, priv
}

// makeRelease writes a binary and its manifest for channel, changed by mod
// before it is signed with priv.
func makeRelease(tb testing.TB, pub minisign.PublicKey, priv minisign.PrivateKey, mod func(*update.Manifest)) release {
	tb.Helper()
	dir := tb.TempDir()
	bin := filepath.Join(dir, "dienstweg-0.2.0-linux-amd64")
	body := []byte("binary 0.2.0")
	if err := os.WriteFile(bin, body, 0o644); err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(body)
	now := time.Now().UTC().Truncate(time.Second)
	m := update.Manifest{
		Schema: update.Schema, Product: "dienstweg", Version: "0.2.0", Channel: "stable",
		RolloutPercent: 100, Published: now, Expires: now.Add(30 * 24 * time.Hour),
		Platforms: map[string]update.Artifact{"linux/amd64": {
			File: filepath.Base(bin), Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]),
			Minisig: string(minisign.Sign(priv, body)),
		}},
	}
	if mod != nil {
		mod(&m)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path+".minisig", minisign.Sign(priv, raw), 0o644); err != nil {
		tb.Fatal(err)
	}
	return release{manifest: path, bin: bin, pub: pub, priv: priv}
}

// writeKeys configures pubs as the data directory's update keys, in the
// format of concatenated .pub files.
func writeKeys(tb testing.TB, data string, pubs ...minisign.PublicKey) {
	tb.Helper()
	var b bytes.Buffer
	for _, p := range pubs {
		t, err := p.MarshalText()
		if err != nil {
			tb.Fatal(err)
		}
		b.WriteString("untrusted comment: minisign public key\n")
		b.Write(t)
		b.WriteString("\n\n")
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, updateKeysFile), b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestReleasePublishVerifies(t *testing.T) {
	t.Parallel()
	pub, priv := newKey(t)
	otherPub, otherPriv := newKey(t)
	good := makeRelease(t, pub, priv, nil)
	for _, tc := range []struct {
		name string
		// setup returns the arguments after "release publish --data DATA".
		setup func(t *testing.T, data string) []string
		want  string
	}{
		{"signed_by_unconfigured_key", func(t *testing.T, data string) []string {
			writeKeys(t, data, pub)
			r := makeRelease(t, otherPub, otherPriv, nil)
			return []string{"--manifest", r.manifest, r.bin}
		}, "not among the 1 update keys"},
		{"manifest_changed_after_signing", func(t *testing.T, data string) []string {
			writeKeys(t, data, pub)
			r := makeRelease(t, pub, priv, nil)
			raw, _ := os.ReadFile(r.manifest)
			os.WriteFile(r.manifest, bytes.Replace(raw, []byte(`"rollout_percent":100`), []byte(`"rollout_percent":10 `), 1), 0o644)
			return []string{"--manifest", r.manifest, r.bin}
		}, "does not verify"},
		{"no_keys_configured", func(t *testing.T, data string) []string {
			return []string{"--manifest", good.manifest, good.bin}
		}, "no update keys"},
		{"other_channel", func(t *testing.T, data string) []string {
			writeKeys(t, data, pub)
			return []string{"--channel", "beta", "--manifest", good.manifest, good.bin}
		}, `for channel "stable", not "beta"`},
		{"expired", func(t *testing.T, data string) []string {
			writeKeys(t, data, pub)
			r := makeRelease(t, pub, priv, func(m *update.Manifest) { m.Expires = time.Now().Add(-time.Hour).UTC() })
			return []string{"--manifest", r.manifest, r.bin}
		}, "expired"},
		{"binary_not_the_signed_one", func(t *testing.T, data string) []string {
			writeKeys(t, data, pub)
			r := makeRelease(t, pub, priv, nil)
			os.WriteFile(r.bin, []byte("binary 0.2.1"), 0o644)
			return []string{"--manifest", r.manifest, r.bin}
		}, "SHA-256 differs"},
		{"binary_signed_by_unconfigured_key", func(t *testing.T, data string) []string {
			writeKeys(t, data, pub)
			r := makeRelease(t, pub, priv, func(m *update.Manifest) {
				a := m.Platforms["linux/amd64"]
				a.Minisig = string(minisign.Sign(otherPriv, []byte("binary 0.2.0")))
				m.Platforms["linux/amd64"] = a
			})
			return []string{"--manifest", r.manifest, r.bin}
		}, "minisig does not verify"},
		{"binary_missing", func(t *testing.T, data string) []string {
			writeKeys(t, data, pub)
			return []string{"--manifest", good.manifest}
		}, "neither given nor published"},
		{"file_not_in_manifest", func(t *testing.T, data string) []string {
			writeKeys(t, data, pub)
			extra := filepath.Join(t.TempDir(), "notes.txt")
			os.WriteFile(extra, []byte("x"), 0o644)
			return []string{"--manifest", good.manifest, good.bin, extra}
		}, "not named in the manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"release", "publish", "--data", data}, tc.setup(t, data)...)
			err := run(args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("publish = %v, want refusal with %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(data, "releases")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("files were copied although the release was refused: %v", err)
			}
			st := openTestStore(t, data)
			for _, ch := range []string{"stable", "beta"} {
				if _, err := st.Release(context.Background(), ch); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("release of %s stored although refused: %v", ch, err)
				}
			}
		})
	}

	t.Run("verified_release_is_published", func(t *testing.T) {
		t.Parallel()
		data := filepath.Join(t.TempDir(), "data")
		writeKeys(t, data, otherPub, pub) // rotation: two keys
		runOK(t, "release", "publish", "--data", data, "--manifest", good.manifest, good.bin)
		// Re-signing later (same files, already published) needs no files.
		runOK(t, "release", "publish", "--data", data, "--manifest", good.manifest)
		raw, _ := os.ReadFile(good.manifest)
		rel, err := openTestStore(t, data).Release(context.Background(), "stable")
		if err != nil || !bytes.Equal(rel.Manifest, raw) {
			t.Errorf("release = %q, %v", rel.Manifest, err)
		}
	})
	t.Run("keys_flag", func(t *testing.T) {
		t.Parallel()
		data := filepath.Join(t.TempDir(), "data")
		keys := filepath.Join(t.TempDir(), "keys")
		writeKeys(t, keys, pub)
		runOK(t, "release", "publish", "--data", data, "--keys", filepath.Join(keys, updateKeysFile), "--manifest", good.manifest, good.bin)
	})
}

func openTestStore(tb testing.TB, data string) *store.SQLite {
	tb.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(data, "portal.db"))
	if err != nil {
		tb.Fatalf("OpenSQLite: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}
