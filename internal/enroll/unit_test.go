package enroll

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
)

func TestClockMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		offset time.Duration // portal minus local
		key    string
		args   map[string]string
	}{
		{"in_sync", 0, "", nil},
		{"at_the_threshold", authcode.MaxClockSkew, "", nil},
		{"at_the_threshold_negative", -authcode.MaxClockSkew, "", nil},
		{"local_3min_ahead", -3 * time.Minute, "enroll.clock.ahead_minutes", map[string]string{"Minutes": "3"}},
		{"local_3min_behind", 3 * time.Minute, "enroll.clock.behind_minutes", map[string]string{"Minutes": "3"}},
		{"local_31s_ahead", -31 * time.Second, "enroll.clock.ahead_one_minute", nil},
		{"local_2h_behind", 2 * time.Hour, "enroll.clock.behind_hours", map[string]string{"Hours": "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := clockMessage(tc.offset)
			if tc.key == "" {
				if got != nil {
					t.Fatalf("clockMessage(%v) = %v, want none", tc.offset, got)
				}
				return
			}
			if got == nil || got.Key != tc.key || fmt.Sprint(got.Args) != fmt.Sprint(tc.args) {
				t.Fatalf("clockMessage(%v) = %v, want %s %v", tc.offset, got, tc.key, tc.args)
			}
		})
	}
}

func TestGroupKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"JBSWY3DPEHPK3PXP": "JBSW Y3DP EHPK 3PXP",
		"abcdefg":          "ABCD EFG",
		"ABCDEFGH====":     "ABCD EFGH",
		"":                 "",
	} {
		if got := groupKey(in); got != want {
			t.Errorf("groupKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyPairLikeWG(t *testing.T) {
	t.Parallel()
	priv, pub, err := newKeyPair(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
	if err != nil {
		t.Fatalf("newKeyPair: %v", err)
	}
	k, _ := base64.StdEncoding.DecodeString(priv)
	if k[0]&7 != 0 || k[31]&0x80 != 0 || k[31]&0x40 == 0 {
		t.Fatalf("private key not clamped: %x", k)
	}
	// The standard library's X25519 must agree on the public key.
	sk, err := ecdh.X25519().NewPrivateKey(k)
	if err != nil {
		t.Fatalf("NewPrivateKey: %v", err)
	}
	if want := base64.StdEncoding.EncodeToString(sk.PublicKey().Bytes()); pub != want {
		t.Fatalf("public key %s, want %s", pub, want)
	}
	// `wg pubkey` of `wg genkey` output of all-0xff input, clamped.
	if len(priv) != 44 || len(pub) != 44 {
		t.Fatalf("lengths %d %d, want 44", len(priv), len(pub))
	}
	if _, _, err := newKeyPair(bytes.NewReader(nil)); err == nil {
		t.Fatal("newKeyPair without randomness succeeded")
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	const raw = "otpauth://totp/X?secret=JBSWY3DPEHPK3PXP"
	a := &Authenticator{URI: Secret(raw), ManualKey: Secret("JBSW Y3DP")}
	v := View{Step: StepAuthenticator, Authenticator: a}
	var logBuf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logBuf, nil))
	l.Info("view", "view", v, "auth", *a, "uri", a.URI)
	out := fmt.Sprintf("%v %+v %#v %s %q %x %v", v, *a, *a, a.URI, a.URI, a.URI, []Secret{a.URI}) + logBuf.String()
	for _, leak := range []string{"JBSWY3DP", "JBSW Y3DP", "otpauth"} {
		if strings.Contains(out, leak) {
			t.Fatalf("%q printed: %s", leak, out)
		}
	}
	if a.URI.Reveal() != raw {
		t.Fatal("Reveal lost the value")
	}
}

func TestProgressFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state", "dienstweg")
	if p, err := loadProgress(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("loadProgress of nothing = %+v, %v; want fs.ErrNotExist", p, err)
	}
	if err := saveProgress(dir, progress{Step: StepConfirm, User: "m.mustermann"}, nil); err != nil {
		t.Fatalf("saveProgress: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, ProgressFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("progress file mode %v, %v; want 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left temp files: %v", entries)
	}
	p, err := loadProgress(dir)
	if err != nil || p.Step != StepConfirm || p.User != "m.mustermann" {
		t.Fatalf("loadProgress = %+v, %v", p, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ProgressFile), []byte(`{"version":1,"step":"nonsense"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadProgress(dir); err == nil {
		t.Fatal("loadProgress accepted an unknown step")
	}
	for name, data := range map[string]string{
		"trailing_data":  `{"version":1,"step":"done"} {"version":1,"step":"welcome"}`,
		"long_user":      `{"version":1,"step":"done","user":"` + strings.Repeat("a", maxUserLen+1) + `"}`,
		"too_large":      `{"version":1,"step":"done","user":"a"}` + strings.Repeat(" ", maxProgressBytes),
		"empty":          ``,
		"truncated":      `{"version":1,"st`,
		"wrong_version":  `{"version":2,"step":"done"}`,
		"not_an_object":  `["done"]`,
		"null":           `null`,
		"invalid_number": `{"version":1e400,"step":"done"}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, ProgressFile), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if p, err := loadProgress(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: loadProgress = %+v, %v; want a damaged-file error", name, p, err)
		}
	}
}

func TestStorageMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err error
		key string
	}{
		{&fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, "enroll.warning.disk_full"},
		{fmt.Errorf("writing: %w", &fs.PathError{Op: "open", Path: "x", Err: syscall.EROFS}), "enroll.warning.read_only"},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, "enroll.warning.read_only"},
		{errors.New("something else"), "enroll.warning.not_saved"},
	} {
		if m := storageMessage(tc.err, "/state"); m.Key != tc.key || m.Args["Dir"] != "/state" {
			t.Errorf("storageMessage(%v) = %+v, want %s", tc.err, m, tc.key)
		}
	}
}

func TestStepCodes(t *testing.T) {
	t.Parallel()
	want := map[Step]string{StepWelcome: "E1", StepSignIn: "E2", StepAuthenticator: "E3", StepConfirm: "E4", StepDevice: "E5", StepTest: "E6", StepDone: "E7"}
	for s, code := range want {
		// Done is no step of its own: "Schritt 6 von 6" stays.
		if s.Code() != code || s.Number() != min(int(code[1]-'0'), TotalSteps) {
			t.Errorf("%s: %s %d, want %s", s, s.Code(), s.Number(), code)
		}
	}
}

// TestMessageKeysComplete finds every key literal in the package's source
// and checks MessageKeys lists it.
func TestMessageKeysComplete(t *testing.T) {
	t.Parallel()
	listed := map[string]bool{}
	for _, k := range MessageKeys() {
		listed[k] = true
	}
	files, _ := filepath.Glob("*.go")
	re := regexp.MustCompile(`"(enroll\.[a-z_]+\.[a-z_.]+)"`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "keys.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			found++
			k := m[1]
			if strings.HasSuffix(k, ".") || strings.HasSuffix(k, "_") {
				continue // a prefix completed at run time
			}
			if !listed[k] && !listed[k+"_attempts"] {
				t.Errorf("%s: key %s missing from MessageKeys", f, k)
			}
		}
	}
	if found < 10 {
		t.Fatalf("found only %d keys; the pattern is broken", found)
	}
}
