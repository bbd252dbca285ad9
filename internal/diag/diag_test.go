package diag

import (
	"archive/zip"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/redact"
	"github.com/dienstweg/dienstweg/internal/state"
)

// bundleText writes a bundle from src and returns every file's content,
// by name.
func bundleText(tb testing.TB, src Sources) map[string]string {
	tb.Helper()
	if src.Interfaces == nil {
		src.Interfaces = func() ([]net.Interface, error) { return nil, nil }
	}
	var buf bytes.Buffer
	if err := Write(&buf, src); err != nil {
		tb.Fatalf("Write: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		tb.Fatalf("zip: %v", err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatalf("open %s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatalf("read %s: %v", f.Name, err)
		}
		files[f.Name] = string(b)
	}
	return files
}

// The helpdesk must read which link failed and what the log says, while
// every secret the agent registered and every key-shaped value is gone.
// The redaction used to match any field called "code", blanking the link
// codes, the wizard's step codes and the "the" after "wrong_code:".
func TestBundleKeepsCodesRemovesSecrets(t *testing.T) {
	typedCode := "492817"          // a 6-digit code the person typed
	activation := "7HP5-XW3W-FEHM" // from IT's letter, typed in the wizard
	totpSecret := "KRUGS4ZANFZSA5DIMUQHGZLDOJSXI"
	credential := "dwc_live.9d2f61c0a7"
	redact.Register(typedCode)
	redact.Register(activation)
	redact.Register(totpSecret)
	redact.Register(credential)
	unregisteredKey := "mBkK1tqZ3sDxWQGhuwJ7+0pQwCq5yOaKEw8v7TZlIWQ=" // shape alone gives it away
	bearer := "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbm5hIn0.c2ln"

	dir := t.TempDir()
	logPath := filepath.Join(dir, "dienstweg.log")
	logText := strings.Join([]string{
		`time=2026-11-29T08:01:02Z level=INFO msg="wizard step" step=sign_in code=E2`,
		`time=2026-11-29T08:01:09Z level=INFO msg="sign-in" user=anna.schmidt input=` + activation,
		`time=2026-11-29T08:02:11Z level=WARN msg="code rejected" err="wrong_code: the code is wrong" typed=` + typedCode,
		`time=2026-11-29T08:02:12Z level=DEBUG msg="enrollment" shown=` + totpSecret + ` uri="otpauth://totp/Musterstadt:anna?secret=` + totpSecret + `"`,
		`time=2026-11-29T08:03:00Z level=DEBUG msg="portal call" header="Authorization: Bearer ` + bearer + `" device=` + credential,
		`time=2026-11-29T08:03:01Z level=DEBUG msg="peer" key=` + unregisteredKey,
		`time=2026-11-29T08:04:00Z level=INFO msg="health changed" session=problem failing=portal`,
	}, "\n") + "\n"
	if err := os.WriteFile(logPath, []byte(logText), 0o600); err != nil {
		t.Fatal(err)
	}
	snap := state.Snapshot{Version: "0.4.0", SupportCode: "DW-7K3F-Q9", Session: state.Problem,
		Health: state.Health{Links: []state.Link{
			{Code: "local_network", OK: true, Detail: state.Message{Key: "health.detail.ok"}},
			{Code: "internet", OK: true, Detail: state.Message{Key: "health.detail.ok"}},
			{Code: "portal", OK: false, Detail: state.Message{Key: "portal.unreachable"}},
		}},
		RecentErrors: []state.ErrorEntry{{Message: state.Message{Key: "portal.error.wrong_code_attempts", Args: map[string]string{"Attempts": "4"}}}},
	}
	files := bundleText(t, Sources{Snapshot: snap, LogFiles: []string{logPath}, SecretService: "available",
		Now: func() time.Time { return time.Unix(0, 0) }})

	keep := map[string][]string{
		"health.json": {`"code": "local_network"`, `"code": "portal"`, `"key": "portal.unreachable"`},
		"state.json":  {`"code": "portal"`, `"key": "portal.error.wrong_code_attempts"`, `"Attempts": "4"`},
		"logs/dienstweg.log": {"step=sign_in code=E2", `err="wrong_code: the code is wrong"`,
			"user=anna.schmidt", `msg="health changed" session=problem failing=portal`},
	}
	for name, wants := range keep {
		for _, want := range wants {
			if !strings.Contains(files[name], want) {
				t.Errorf("%s lost %q:\n%s", name, want, files[name])
			}
		}
	}
	var all strings.Builder
	for _, text := range files {
		all.WriteString(text)
	}
	for _, secret := range []string{typedCode, activation, totpSecret, credential, unregisteredKey, bearer} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("bundle still holds secret %q", secret)
		}
	}
}

func TestMaskAddr(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"192.168.178.23/24", "192.168.x.x/24 (private)"},
		{"10.77.0.10/32", "10.77.x.x/32 (private)"},
		{"127.0.0.1/8", "127.0.0.1/8"},
		{"84.12.33.9/22", "84.12.x.x/22 (public)"},
		{"fe80::1c2b:3aff:fe4d:5e6f/64", "fe80:0::x/64 (link-local)"},
		{"2a02:8108:1234:5600::17/64", "2a02:8108::x/64 (public)"},
		{"garbage", "(address)"},
	}
	for _, tt := range tests {
		if got := MaskAddr(tt.in); got != tt.want {
			t.Errorf("MaskAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Secrets put into every source come out nowhere in the zip, in any
// encoding.
func TestBundleHoldsNoSecrets(t *testing.T) {
	privateKey := "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
	credential := "dwc_7f3a9b2c4d5e6f708192a3b4c5d6e7f8"
	totpSecret := "JBSWY3DPEHPK3PXPJBSWY3DP"
	activation := "K7P2-QX9M-4HTR"
	redact.Register(credential)
	redact.Register(privateKey)

	dir := t.TempDir()
	logPath := filepath.Join(dir, "dienstweg.log")
	logText := strings.Join([]string{
		`level=INFO msg="device registered" credential=` + credential,
		`level=DEBUG msg=oops key=` + privateKey,
		`level=DEBUG msg=uri otpauth://totp/Musterstadt:anna?secret=` + totpSecret + `&issuer=Musterstadt`,
		`level=DEBUG msg=signin activation_code=` + activation,
		`level=INFO msg="tunnel up" handshake=3s`,
	}, "\n")
	if err := os.WriteFile(logPath, []byte(logText), 0o600); err != nil {
		t.Fatal(err)
	}
	snap := state.Snapshot{Version: "0.1.0", SupportCode: "DW-7K3F-Q9", Session: state.Problem,
		RecentErrors: []state.ErrorEntry{{Message: state.Message{Key: "x", Args: map[string]string{"token": credential}}}}}
	prof := &profile.Profile{Organisation: "Stadt Musterstadt", PortalURL: "https://portal.example/", PortalCA: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}

	var buf bytes.Buffer
	err := Write(&buf, Sources{Snapshot: snap, Profile: prof, LogFiles: []string{logPath}, SecretService: "available",
		Interfaces: func() ([]net.Interface, error) { return nil, nil }, Now: func() time.Time { return time.Unix(0, 0) }})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	names := map[string]bool{}
	var all strings.Builder
	for _, f := range zr.File {
		names[f.Name] = true
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		all.Write(b)
	}
	for _, want := range []string{"README.txt", "state.json", "health.json", "update.json", "profile.json", "system.txt", "logs/dienstweg.log"} {
		if !names[want] {
			t.Errorf("bundle lacks %s; has %v", want, names)
		}
	}
	text := all.String()
	for _, secret := range []string{privateKey, credential, totpSecret, activation} {
		for _, enc := range redact.Encodings([]byte(secret)) {
			if strings.Contains(text, enc) {
				t.Errorf("bundle contains secret %q as %q", secret, enc)
			}
		}
	}
	for _, keep := range []string{"DW-7K3F-Q9", `msg="tunnel up" handshake=3s`, "Stadt Musterstadt", "secret service: available"} {
		if !strings.Contains(text, keep) {
			t.Errorf("bundle lost %q", keep)
		}
	}
}
