package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		mustNot []string
		keep    []string
	}{
		{
			name:    "otpauth_uri",
			in:      `uri=otpauth://totp/Musterstadt:anna?secret=JBSWY3DPEHPK3PXP&issuer=Musterstadt`,
			mustNot: []string{"JBSWY3DPEHPK3PXP", "secret="},
			keep:    []string{"otpauth://"},
		},
		{
			name:    "wireguard_private_key",
			in:      `key loaded: yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=`,
			mustNot: []string{"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="},
			keep:    []string{"key loaded"},
		},
		{
			name:    "bearer_token",
			in:      `Authorization: Bearer abcdefghijklmnop.qrstu`,
			mustNot: []string{"abcdefghijklmnop"},
			keep:    []string{"Authorization"},
		},
		{
			name:    "json_fields",
			in:      `{"user":"anna","activation_code":"K7P2-QX9M","password":"hunter22","token":"t0k3n-value"}`,
			mustNot: []string{"K7P2-QX9M", "hunter22", "t0k3n-value"},
			keep:    []string{`"user":"anna"`},
		},
		{
			name:    "key_value_log",
			in:      `level=INFO msg="session" code=123456 private_key=abc123secret otp=654321`,
			mustNot: []string{"123456", "abc123secret", "654321"},
			keep:    []string{`msg="session"`},
		},
		{
			name:    "pem_private_key",
			in:      "a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\nb",
			mustNot: []string{"MHcCAQEEIB"},
			keep:    []string{"a\n", "\nb"},
		},
		{
			name:    "hex_blob",
			in:      `hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 done`,
			mustNot: []string{"9f86d081884c7d65"},
			keep:    []string{"hash", "done"},
		},
		{
			name:    "support_code_stays",
			in:      `{"support_code": "DW-7K3F-Q9"} support code: DW-7K3F-Q9 code=123456`,
			mustNot: []string{"123456"},
			keep:    []string{`"support_code": "DW-7K3F-Q9"`, "support code: DW-7K3F-Q9"},
		},
		{
			name: "ordinary_text_stays",
			in:   `Verbunden – alles in Ordnung; gateway 10.77.0.1:51820 handshake 3s ago`,
			keep: []string{"Verbunden – alles in Ordnung", "10.77.0.1:51820", "handshake 3s ago"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := String(tt.in)
			for _, s := range tt.mustNot {
				if strings.Contains(got, s) {
					t.Errorf("String(%q) = %q still contains %q", tt.in, got, s)
				}
			}
			for _, s := range tt.keep {
				if !strings.Contains(got, s) {
					t.Errorf("String(%q) = %q lost %q", tt.in, got, s)
				}
			}
		})
	}
}

// A registered secret disappears in every encoding, even where no pattern
// would recognise it.
func TestRegisteredSecretInEveryEncoding(t *testing.T) {
	secret := "device-credential-ünique-42"
	Register(secret)
	for _, enc := range Encodings([]byte(secret)) {
		in := "before " + enc + " after"
		got := String(in)
		if strings.Contains(got, enc) {
			t.Errorf("encoding %q survived: %q", enc, got)
		}
		if !strings.Contains(got, "before ") || !strings.Contains(got, " after") {
			t.Errorf("surrounding text lost: %q", got)
		}
	}
	Register("abc") // too short: must not mask ordinary words
	if got := String("abc is fine"); got != "abc is fine" {
		t.Errorf("short secret masked text: %q", got)
	}
}

func FuzzString(f *testing.F) {
	f.Add("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP")
	f.Add(`{"token":"abc"}`)
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		// Redaction is idempotent: nothing it emits looks like a secret.
		if again := String(out); again != out {
			t.Errorf("not idempotent: %q -> %q -> %q", s, out, again)
		}
	})
}
