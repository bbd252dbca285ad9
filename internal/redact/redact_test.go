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
			in:      `level=INFO msg="session" private_key=abc123secret password=hunter22 totp_secret=abcdefgh`,
			mustNot: []string{"abc123secret", "hunter22", "abcdefgh"},
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
			name:    "activation_code_by_shape",
			in:      `Anmeldung mit AWKQ-MYYU-GTEY abgelehnt`,
			mustNot: []string{"AWKQ-MYYU-GTEY", "AWKQ", "GTEY"},
			keep:    []string{"Anmeldung mit", "abgelehnt"},
		},
		{
			name: "support_code_stays",
			in:   `{"support_code": "DW-7K3F-Q9"} support code: DW-7K3F-Q9`,
			keep: []string{`{"support_code": "DW-7K3F-Q9"}`, "support code: DW-7K3F-Q9"},
		},
		{
			// Codes that name things are what the helpdesk reads; only
			// a secret is removed, never a field because it is called "code".
			name: "codes_that_name_things_stay",
			in: `level=INFO msg="wizard" step=sign_in code=E2 err="wrong_code: the code is wrong"` + "\n" +
				`{"code": "portal", "ok": false, "detail": {"key": "portal.unreachable"}} code=portal.unreachable`,
			keep: []string{"step=sign_in code=E2", "wrong_code: the code is wrong", `"code": "portal"`,
				"code=portal.unreachable", `"key": "portal.unreachable"`},
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
	Register("  492817\n") // a typed code, as it came over the socket
	if got := String(`msg="code rejected" code=492817`); strings.Contains(got, "492817") {
		t.Errorf("registered typed code survived: %q", got)
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
