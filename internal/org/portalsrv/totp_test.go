package portalsrv

import (
	"context"
	"encoding/base32"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
)

// rfcSecret is the SHA1 seed of RFC 6238 appendix B, "12345678901234567890".
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

func TestRFC6238Vectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		unix int64
		want string // 8 digits, RFC 6238 appendix B, SHA1 column
	}{
		{"t_59", 59, "94287082"},
		{"t_1111111109", 1111111109, "07081804"},
		{"t_1111111111", 1111111111, "14050471"},
		{"t_1234567890", 1234567890, "89005924"},
		{"t_2000000000", 2000000000, "69279037"},
		{"t_20000000000", 20000000000, "65353130"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := time.Unix(tc.unix, 0)
			got, err := totp.GenerateCodeCustom(rfcSecret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
			if err != nil || got != tc.want {
				t.Fatalf("8-digit code = %q, %v; want %q", got, err, tc.want)
			}
			// Six digits are the same HOTP value modulo 10^6.
			step, ok := matchTOTP(rfcSecret, tc.want[2:], at)
			if !ok || step != tc.unix/30 {
				t.Errorf("matchTOTP(%s) = %d, %v; want step %d", tc.want[2:], step, ok, tc.unix/30)
			}
		})
	}
}

func TestMatchTOTPSkew(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_010, 0)
	for _, tc := range []struct {
		name  string
		steps int
		ok    bool
	}{
		{"minus_two", -2, false},
		{"minus_one", -1, true},
		{"current", 0, true},
		{"plus_one", 1, true},
		{"plus_two", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := totp.GenerateCodeCustom(rfcSecret, now.Add(time.Duration(tc.steps)*authcode.Period), totpOpts)
			if err != nil {
				t.Fatalf("GenerateCodeCustom: %v", err)
			}
			step, ok := matchTOTP(rfcSecret, c, now)
			if ok != tc.ok {
				t.Fatalf("matchTOTP ok = %v, want %v", ok, tc.ok)
			}
			want := now.Unix()/int64(authcode.Period/time.Second) + int64(tc.steps)
			if ok && step != want {
				t.Errorf("step = %d, want %d", step, want)
			}
		})
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := matchTOTP(rfcSecret, bad, now); ok {
			t.Errorf("matchTOTP(%q) accepted", bad)
		}
	}
}

// The portal enrols and checks codes with authcode's parameters.
func TestTOTPOptionsAreAuthcodes(t *testing.T) {
	t.Parallel()
	if got := totpOpts.Algorithm.String(); got != authcode.Algorithm {
		t.Errorf("algorithm %s, want %s", got, authcode.Algorithm)
	}
	if time.Duration(totpOpts.Period)*time.Second != authcode.Period || totpOpts.Digits.Length() != authcode.Digits || totpOpts.Skew != authcode.Skew {
		t.Errorf("totpOpts %+v differ from authcode", totpOpts)
	}
}

// The client's clock threshold and the portal's accepted window agree: a
// code from a clock that is off by up to authcode.MaxClockSkew is accepted
// at every moment of a step, and one from a clock off by a second more is
// refused at some moment, so the threshold is neither too strict nor too
// lax. The codes come from authcodetest, apart from the portal's library.
func TestClockSkewMatchesAcceptedWindow(t *testing.T) {
	t.Parallel()
	period := int64(authcode.Period / time.Second)
	start := time.Unix(1_700_000_010/period*period, 0)
	accepted := func(skew time.Duration) (all, some bool) {
		all = true
		for at := start; at.Before(start.Add(authcode.Period)); at = at.Add(time.Second) {
			_, ok := matchTOTP(rfcSecret, authcodetest.Code(t, rfcSecret, at.Add(skew)), at)
			all, some = all && ok, some || ok
		}
		return all, some
	}
	for _, skew := range []time.Duration{-authcode.MaxClockSkew, 0, authcode.MaxClockSkew} {
		if all, _ := accepted(skew); !all {
			t.Errorf("a clock off by %v within the threshold had a right code refused", skew)
		}
	}
	for _, skew := range []time.Duration{-authcode.MaxClockSkew - time.Second, authcode.MaxClockSkew + time.Second} {
		all, some := accepted(skew)
		if all {
			t.Errorf("a clock off by %v beyond the threshold had every code accepted: the threshold is too strict", skew)
		}
		if !some {
			t.Errorf("a clock off by %v had no code accepted", skew)
		}
	}
}

func TestSessionEnd(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	cfg := Config{Location: berlin}
	cfg.setDefaults()
	s := &Server{cfg: cfg}
	for _, tc := range []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"morning", time.Date(2026, 3, 2, 8, 0, 0, 0, berlin), time.Date(2026, 3, 2, 20, 0, 0, 0, berlin)},
		{"dst_start_day", time.Date(2026, 3, 29, 8, 0, 0, 0, berlin), time.Date(2026, 3, 29, 20, 0, 0, 0, berlin)},
		{"just_before_end", time.Date(2026, 3, 2, 19, 30, 0, 0, berlin), time.Date(2026, 3, 2, 21, 30, 0, 0, berlin)},
		{"late_evening", time.Date(2026, 3, 2, 22, 0, 0, 0, berlin), time.Date(2026, 3, 3, 0, 0, 0, 0, berlin)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := s.sessionEnd(tc.now); !got.Equal(tc.want) {
				t.Errorf("sessionEnd(%v) = %v, want %v", tc.now, got.In(berlin), tc.want)
			}
		})
	}
}

func TestActivationCodeHash(t *testing.T) {
	t.Parallel()
	code, err := NewActivationCode()
	if err != nil {
		t.Fatalf("NewActivationCode: %v", err)
	}
	if len(code) != 14 || code[4] != '-' || code[9] != '-' {
		t.Fatalf("code %q is not XXXX-XXXX-XXXX", code)
	}
	h, err := hashCode(code, defaultHashParams)
	if err != nil {
		t.Fatalf("hashCode: %v", err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		typed string
		ok    bool
	}{
		{"as_printed", code, true},
		{"lower_case_without_dashes", normaliseLower(code), true},
		{"with_spaces", " " + code[:4] + " " + code[5:9] + " " + code[10:], true},
		{"wrong", "AAAA-AAAA-AAAA", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := verifyCode(ctx, tc.typed, h)
			if err != nil || ok != tc.ok {
				t.Errorf("verifyCode(%q) = %v, %v; want %v", tc.typed, ok, err, tc.ok)
			}
		})
	}
	if _, err := verifyCode(ctx, code, "$argon2id$v=19$m=999999999,t=1,p=1$AAAA$AAAA"); err == nil {
		t.Errorf("absurd parameters accepted")
	}
}

func normaliseLower(s string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return string(out)
}

func TestEtagMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`"x", "abc"`, true},
		{`*`, true},
		{`"abcd"`, false},
		{``, false},
	} {
		if got := etagMatch(tc.header, `"abc"`); got != tc.ok {
			t.Errorf("etagMatch(%q) = %v, want %v", tc.header, got, tc.ok)
		}
	}
}
