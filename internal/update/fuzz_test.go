package update

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
)

// fuzzKeys is a fixed key pair, so that fuzz inputs (signatures) stay
// meaningful from one run to the next.
func fuzzKeys(tb testing.TB) (minisign.PublicKey, minisign.PrivateKey) {
	tb.Helper()
	pub, priv, err := minisign.GenerateKey(rand.NewChaCha8([32]byte{'d', 'i', 'e', 'n', 's', 't', 'w', 'e', 'g'}))
	if err != nil {
		tb.Fatalf("GenerateKey: %v", err)
	}
	return pub, priv
}

// FuzzSignatureText feeds any text as the minisign signature of a fixed
// message. Parsing (which happens before verification, to find the key)
// must not panic; a refusal must carry a code; and whatever our check
// accepts must be the very signature made with the key (only the
// unsigned comment line may differ) and must pass selfupdate's own check
// at install time too, or Install would fail after everything verified.
func FuzzSignatureText(f *testing.F) {
	pub, priv := fuzzKeys(f)
	msg := []byte("dienstweg 0.2.0 linux/amd64")
	good := minisign.Sign(priv, msg)
	var want minisign.Signature
	if err := want.UnmarshalText(good); err != nil {
		f.Fatalf("own signature: %v", err)
	}
	_, otherPriv := func() (minisign.PublicKey, minisign.PrivateKey) {
		p, k, _ := minisign.GenerateKey(rand.NewChaCha8([32]byte{1}))
		return p, k
	}()
	lines := strings.Split(string(good), "\n")
	for _, s := range []string{
		string(good), string(minisign.Sign(otherPriv, msg)), string(minisign.Sign(priv, []byte("other"))),
		strings.Join(lines, "\r\n"), strings.Join(lines[:2], "\n"), "", "untrusted comment: \n\n\n",
		strings.Replace(string(good), "trusted comment: ", "trusted comment: x", 1),
		"untrusted comment: x\n" + lines[1] + "\ntrusted comment: \n" + lines[3] + "\nmore\n",
	} {
		f.Add([]byte(s))
	}
	keys := []minisign.PublicKey{pub}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, sig []byte) {
		err := verifySignature(keys, msg, sig, CodeBinarySignature, "binary")
		if err != nil {
			if c := CodeOf(err); c != CodeBinarySignature {
				t.Fatalf("refusal with code %q: %v", c, err)
			}
			return
		}
		var got minisign.Signature
		if err := got.UnmarshalText(sig); err != nil {
			t.Fatalf("accepted a signature that does not parse: %v", err)
		}
		if got.KeyID != want.KeyID || got.Signature != want.Signature || got.TrustedComment != want.TrustedComment ||
			got.CommentSignature != want.CommentSignature || got.Algorithm != want.Algorithm {
			t.Fatalf("accepted %q, which is not the signature made (%q)", sig, good)
		}
		path := filepath.Join(dir, "bin.minisig")
		if err := os.WriteFile(path, sig, 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := selfupdateVerifier(path, keys, string(sig))
		if err != nil {
			t.Fatalf("selfupdate cannot load a signature we accepted: %v", err)
		}
		if err := v.Verify(msg); err != nil {
			t.Fatalf("selfupdate refuses a signature we accepted: %v", err)
		}
	})
}

// FuzzManifest signs any bytes as a manifest with a profile key, so that
// the fuzzer reaches the parser behind the signature check. Nothing may
// panic; what is accepted must be one JSON object whose fields make
// sense; and Evaluate must only ever offer a newer version with a build
// for this platform whose file is safe to name.
func FuzzManifest(f *testing.F) {
	pub, priv := fuzzKeys(f)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	platform := PlatformKey(runtime.GOOS, runtime.GOARCH)
	sum := strings.Repeat("ab", 32)
	base := Manifest{
		Schema: Schema, Product: "dienstweg", Version: "0.2.0", Channel: "stable", RolloutPercent: 100,
		Published: now.Add(-time.Hour), Expires: now.Add(24 * time.Hour),
		Platforms: map[string]Artifact{platform: {File: "dienstweg-0.2.0", Size: 10, SHA256: sum, Minisig: "x",
			Patches: []Patch{{FromVersion: "0.1.0", FromSHA256: sum, File: "p.bsdiff", Size: 3, SHA256: sum}}}},
	}
	seed, _ := json.Marshal(base)
	f.Add(seed)
	f.Add(append(append([]byte(nil), seed...), " {}"...))
	f.Add([]byte(`{"schema":1,"product":"dienstweg","version":"1.0.0","channel":"stable","expires":"2030-01-01T00:00:00Z","minimum_version":"0.3.0","rollout_percent":0}`))
	f.Add([]byte(`{"schema":1,"product":"dienstweg","version":"0.2.0","channel":"stable","expires":"2030-01-01T00:00:00Z","platforms":{"` + platform + `":{"file":"..","size":1,"sha256":"` + sum + `","minisig":"x"}}}`))
	f.Add([]byte("null"))
	keys := []minisign.PublicKey{pub}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > maxManifestSize {
			return
		}
		m, err := VerifyManifest(raw, minisign.Sign(priv, raw), keys)
		if err != nil {
			if c := CodeOf(err); c != CodeMalformed {
				t.Fatalf("refused a validly signed manifest with %q: %v", c, err)
			}
			return
		}
		var obj map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&obj); err != nil || dec.More() {
			t.Fatalf("accepted %q, which is not one JSON object", raw)
		}
		if err := m.validate(); err != nil {
			t.Fatalf("accepted an invalid manifest: %v", err)
		}
		for _, running := range []string{"0.1.0", "0.2.0", "1.0.0-rc.1", "99.0.0"} {
			for _, id := range []string{"device-1", "device-2"} {
				v, art, err := Evaluate(m, Target{Version: running, Channel: "stable", GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, DeviceID: []byte(id), Now: now})
				if err != nil {
					if CodeOf(err) == "" {
						t.Fatalf("Evaluate error without a code: %v", err)
					}
					continue
				}
				if (v == Available) != (art != nil) {
					t.Fatalf("verdict %d with artifact %v", v, art)
				}
				if v != Available {
					continue
				}
				if c, err := compareVersions(m.Version, running); err != nil || c <= 0 {
					t.Fatalf("offers %s to %s", m.Version, running)
				}
				if err := checkFile(art.File, art.Size, art.SHA256); err != nil || filepath.Base(art.File) != art.File {
					t.Fatalf("offers an unsafe file %q: %v", art.File, err)
				}
			}
		}
	})
}
