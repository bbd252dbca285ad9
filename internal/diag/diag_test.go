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
