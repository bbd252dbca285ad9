package update_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/update"
)

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"0.1.0", "0.2.0", -1},
		{"0.10.0", "0.9.9", 1},
		{"1.0.0", "1.0.0+build7", 0},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"1.0.0-rc.2", "1.0.0-rc.10", -1},
		{"1.0.0-alpha", "1.0.0-1", 1},
		{"v2.0.0", "1.99.99", 1},
		{"0.0.0-dev+abc1234", "0.1.0", -1},
		// Numeric identifiers compare as numbers, whatever their size.
		{"1.0.0-18446744073709551616", "1.0.0-18446744073709551615", 1},
		{"1.0.0-99999999999999999999", "1.0.0-100000000000000000000", -1},
		{"1.0.0-18446744073709551616", "1.0.0-a", -1},
	} {
		t.Run(strings.NewReplacer(".", "_", "+", "_", "-", "_").Replace(tc.a+"_vs_"+tc.b), func(t *testing.T) {
			t.Parallel()
			a, err := update.ParseVersion(tc.a)
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tc.a, err)
			}
			b, err := update.ParseVersion(tc.b)
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tc.b, err)
			}
			if got := a.Compare(b); got != tc.want {
				t.Errorf("Compare = %d, want %d", got, tc.want)
			}
			if got := b.Compare(a); got != -tc.want {
				t.Errorf("reverse Compare = %d, want %d", got, -tc.want)
			}
		})
	}
	for _, bad := range []string{"", "1.2", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3+", "a.b.c", "1.2.3-rc..1",
		// semver.org 2.0: no leading zero in a number (1.0.0-01 would
		// equal 1.0.0-1), only [0-9A-Za-z-], no empty identifier.
		"1.0.0-01", "1.0.0-rc_1", "1.0.0-rc 1", "1.0.0+b..1", "1.0.0+a+b", "1.0.0+\n", "1.0.0-ä", "1.0.0-rc.1\x00", "0.0.0+ "} {
		if _, err := update.ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
}

func TestRolloutBucket(t *testing.T) {
	t.Parallel()
	const n = 2000
	in := 0
	for i := range n {
		id := []byte(fmt.Sprintf("device-%d", i))
		b := update.Bucket(id, "0.2.0")
		if b != update.Bucket(id, "0.2.0") {
			t.Fatalf("bucket of %s not stable", id)
		}
		if b < 0 || b > 99 {
			t.Fatalf("bucket %d out of range", b)
		}
		if update.InRollout(id, "0.2.0", 10) {
			in++
		}
		if !update.InRollout(id, "0.2.0", 100) || update.InRollout(id, "0.2.0", 0) {
			t.Fatalf("100%% must include and 0%% exclude every device")
		}
	}
	// 10% of 2000 is 200; a fair hash lands well inside 120..280.
	if in < 120 || in > 280 {
		t.Errorf("%d of %d devices in a 10%% rollout", in, n)
	}
}

func TestVerifyManifest(t *testing.T) {
	t.Parallel()
	k, other := newKey(t), newKey(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	raw := encode(t, manifest("0.2.0", now, artifact(k, "dienstweg-0.2.0", []byte("bin"))))
	keys, err := update.ParseKeys([]string{other.text(), k.text()})
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	tampered := []byte(strings.Replace(string(raw), "0.2.0", "0.3.0", 1))
	for _, tc := range []struct {
		name string
		raw  []byte
		sig  []byte
		keys []string
		want update.Code
	}{
		{"second_key_of_two", raw, k.sign(raw), []string{other.text(), k.text()}, ""},
		{"unknown_key", raw, newKey(t).sign(raw), []string{other.text(), k.text()}, update.CodeUnknownKey},
		{"edited_after_signing", tampered, k.sign(raw), []string{k.text()}, update.CodeBadSignature},
		{"garbage_signature", raw, []byte("untrusted comment: x\nnot base64\n"), []string{k.text()}, update.CodeBadSignature},
		{"signed_but_not_json", []byte("{"), k.sign([]byte("{")), []string{k.text()}, update.CodeMalformed},
		{"signed_with_data_after_the_object", append(raw[:len(raw):len(raw)], `{"version":"9.9.9"}`...), k.sign(append(raw[:len(raw):len(raw)], `{"version":"9.9.9"}`...)), []string{k.text()}, update.CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys, err := update.ParseKeys(tc.keys)
			if err != nil {
				t.Fatalf("ParseKeys: %v", err)
			}
			m, err := update.VerifyManifest(tc.raw, tc.sig, keys)
			if got := update.CodeOf(err); got != tc.want {
				t.Fatalf("VerifyManifest = %v, want code %q", err, tc.want)
			}
			if tc.want == "" && m.Version != "0.2.0" {
				t.Errorf("Version = %q", m.Version)
			}
		})
	}
	_ = keys
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	base := func() *update.Manifest {
		m := manifest("0.2.0", now, artifact(k, "f", []byte("bin")))
		m.Platforms = map[string]update.Artifact{"linux/amd64": artifact(k, "f", []byte("bin"))}
		return m
	}
	target := update.Target{Version: "0.1.0", Channel: "stable", GOOS: "linux", GOARCH: "amd64", DeviceID: []byte("d"), Now: now}
	// A device outside a 1% rollout of 0.2.0, found by search so the
	// test does not depend on one hash value.
	var outside []byte
	for i := 0; ; i++ {
		id := []byte(fmt.Sprintf("dev-%d", i))
		if !update.InRollout(id, "0.2.0", 1) {
			outside = id
			break
		}
	}
	for _, tc := range []struct {
		name    string
		mod     func(*update.Manifest, *update.Target)
		verdict update.Verdict
		code    update.Code
	}{
		{"available", nil, update.Available, ""},
		{"expired", func(m *update.Manifest, _ *update.Target) { m.Expires = now }, 0, update.CodeExpired},
		{"wrong_channel", func(m *update.Manifest, _ *update.Target) { m.Channel = "beta" }, 0, update.CodeWrongChannel},
		{"downgrade", func(_ *update.Manifest, t *update.Target) { t.Version = "0.3.0" }, 0, update.CodeDowngrade},
		{"same_version", func(_ *update.Manifest, t *update.Target) { t.Version = "0.2.0" }, update.UpToDate, ""},
		{"outside_rollout", func(m *update.Manifest, t *update.Target) { m.RolloutPercent = 1; t.DeviceID = outside }, update.NotYet, ""},
		{"below_minimum_skips_rollout", func(m *update.Manifest, t *update.Target) {
			m.RolloutPercent, m.MinimumVersion, t.DeviceID = 1, "0.1.5", outside
		}, update.Available, ""},
		{"no_build_for_platform", func(_ *update.Manifest, t *update.Target) { t.GOARCH = "riscv64" }, 0, update.CodeNoPlatform},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, tg := base(), target
			if tc.mod != nil {
				tc.mod(m, &tg)
			}
			v, art, err := update.Evaluate(m, tg)
			if got := update.CodeOf(err); got != tc.code {
				t.Fatalf("Evaluate = %v, want code %q", err, tc.code)
			}
			if err == nil && v != tc.verdict {
				t.Errorf("verdict = %v, want %v", v, tc.verdict)
			}
			if (v == update.Available && err == nil) != (art != nil) {
				t.Errorf("artifact = %v with verdict %v", art, v)
			}
		})
	}
}
