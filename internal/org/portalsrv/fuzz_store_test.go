package portalsrv

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzParseHash: the activation-code hash comes from a database row that
// may have been tampered with. The parser must never panic, must refuse
// parameters that would let one check take the server's memory or time,
// and must accept only hashes in the one spelling formatHash writes.
func FuzzParseHash(f *testing.F) {
	f.Add(formatHash(defaultHashParams, bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 32)))
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=999999999,t=1,p=1$AAAA$AAAA")
	f.Add("$argon2id$v=19$m=019456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2i$v=19$m=8,t=1,p=1$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, encoded string) {
		p, salt, sum, err := parseHash(encoded)
		if err != nil {
			return
		}
		if p.memoryKiB > 1<<20 || p.time == 0 || p.time > 16 || p.threads == 0 || p.memoryKiB < 8*uint32(p.threads) {
			t.Fatalf("parseHash(%q) accepted parameters %+v", encoded, p)
		}
		if got := formatHash(p, salt, sum); got != encoded {
			t.Fatalf("parseHash(%q) accepted a second spelling of %q", encoded, got)
		}
	})
}

// FuzzMatchTOTP: the TOTP secret is read from the database, the code is
// typed by anyone. Neither may make the check panic, and only a code of
// six digits can ever match.
func FuzzMatchTOTP(f *testing.F) {
	f.Add(rfcSecret, "287082", int64(59))
	f.Add("", "000000", int64(0))
	f.Add("not base32!", "123456", int64(1_700_000_000))
	f.Add(rfcSecret, "२८७०८२", int64(59))
	f.Fuzz(func(t *testing.T, secret, code string, unix int64) {
		step, ok := matchTOTP(secret, code, time.Unix(unix, 0))
		if !ok {
			return
		}
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("matchTOTP(%q, %q) accepted a code that is not six digits", secret, code)
		}
		if d := step - unix/30; unix >= 0 && (d < -1 || d > 1) {
			t.Fatalf("matched step %d is %d steps from now", step, d)
		}
	})
}
