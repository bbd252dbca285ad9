package authcodetest

import (
	"encoding/base32"
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA1 column: the 8-digit values, of which a 6-digit
// code is the last six (the same HOTP value modulo 10^6).
func TestRFC6238Vectors(t *testing.T) {
	t.Parallel()
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got := Code(t, secret, time.Unix(tc.unix, 0)); got != tc.want[2:] {
			t.Errorf("Code at %d = %s, want %s", tc.unix, got, tc.want[2:])
		}
	}
}

func TestBadSecret(t *testing.T) {
	t.Parallel()
	if _, err := Generate("not base32!", time.Now()); err == nil {
		t.Error("Generate accepted a secret that is not base32")
	}
}
