package portal

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

func TestEveryAPICodeHasAKind(t *testing.T) {
	t.Parallel()
	var known []string
	for c := range kindOfCode {
		known = append(known, c)
	}
	all := slices.Clone(api.AllCodes)
	sort.Strings(known)
	sort.Strings(all)
	if !slices.Equal(known, all) {
		t.Errorf("client codes %q, api codes %q", known, all)
	}
	for k := KindUnknown; k <= KindProtocol; k++ {
		if _, ok := kindNames[k]; !ok {
			t.Errorf("kind %d has no name", k)
		}
		if m := Explain(&Error{Kind: k, AttemptsLeft: -1}, time.Now(), time.UTC); m == nil || m.Key == "" {
			t.Errorf("kind %v has no message", k)
		}
	}
}

func TestRetryWait(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		rand       float64
		want       time.Duration
	}{
		{"first_longest", 1, 0, 0, 500 * time.Millisecond},
		{"first_full_jitter", 1, 0, 0.999, 500 * time.Microsecond},
		{"third_half", 3, 0, 0.5, time.Second},
		{"capped_at_max", 20, 0, 0.5, 15 * time.Second},
		{"retry_after_is_the_floor", 1, 4 * time.Second, 0, 4 * time.Second},
		{"retry_after_plus_jitter", 2, 4 * time.Second, 0.5, 4*time.Second + 500*time.Millisecond},
		{"huge_retry_after_capped", 1, time.Hour, 0, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(Config{BaseURL: "https://x", CAPEM: testCA(t), Rand: func() float64 { return tc.rand }})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := c.retryWait(tc.attempt, tc.retryAfter); got != tc.want {
				t.Errorf("retryWait(%d, %v) = %v, want %v", tc.attempt, tc.retryAfter, got, tc.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5", 5 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1e3", 0, false},
		{"Mon, 05 Jan 2026 08:00:30 GMT", 30 * time.Second, true},
		{"Mon, 05 Jan 2026 07:00:00 GMT", 0, true},
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// testCA returns a real CA PEM; New only checks that it parses.
func testCA(tb testing.TB) string {
	tb.Helper()
	m, err := portalsrv.LoadOrCreateTLS(tb.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		tb.Fatalf("LoadOrCreateTLS: %v", err)
	}
	return string(m.CAPEM)
}

func FuzzParseError(f *testing.F) {
	f.Add(401, []byte(`{"error":"wrong_code","message":"x","attempts_left":3}`), "")
	f.Add(429, []byte(`{"error":"locked","message":"locked for 5 minutes","locked_until":"2026-01-05T08:05:00Z"}`), "300")
	f.Add(503, []byte(`{"error":"overloaded","retry_after_seconds":4}`), "4")
	f.Add(502, []byte(`<html>bad gateway</html>`), "")
	f.Add(400, []byte(`{"error":5}`), "Mon, 05 Jan 2026 08:00:30 GMT")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		e := parseError(status, h, body, time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC))
		if e == nil || e.Kind == KindUnknown {
			t.Fatalf("parseError gave %#v", e)
		}
		if e.RetryAfter < 0 {
			t.Errorf("negative RetryAfter %v", e.RetryAfter)
		}
		if e.AttemptsLeft < -1 {
			t.Errorf("AttemptsLeft %d", e.AttemptsLeft)
		}
		_ = e.Error()
		_ = Explain(e, time.Now(), time.UTC)
	})
}

// FuzzDecodeAnswers feeds arbitrary bytes to the decoders of every
// success answer: they may reject, but must not panic or accept a
// registration or tunnel that the agent could not use.
func FuzzDecodeAnswers(f *testing.F) {
	f.Add([]byte(`{"device_id":"dev_1","credential":"dwd1_x","tunnel":{"address":"10.77.0.2/32","dns":["10.77.0.1"],"search_domains":["m.example"],"gateway_endpoint":"127.0.0.1:51820","gateway_public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","allowed_ips":["10.77.0.0/16"]}}`))
	f.Add([]byte(`{"enrollment_id":"dwe1_x","otpauth_uri":"otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP","secret":"JBSWY3DPEHPK3PXP"}`))
	f.Add([]byte(`{"announcements":[{"id":"a","severity":"info","title":{"de":"x","en":"y"},"valid_from":"2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"authorised":true,"until":"2026-01-05T20:00:00Z","server_time":"2026-01-05T08:00:00Z"}`))
	f.Add([]byte(`{"tunnel":{"address":"::1/129"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res := &response{status: 200, body: body}
		if reg, err := decode("t", res, func(v *Registration) error {
			if v.DeviceID == "" || v.Credential == "" {
				return errString("missing")
			}
			return validTunnel(&v.Tunnel)
		}); err == nil {
			if !reg.Tunnel.Address.IsValid() || len(reg.Tunnel.GatewayPublicKey) == 0 {
				t.Errorf("accepted unusable registration %+v", reg)
			}
			if _, err := json.Marshal(reg); err != nil {
				t.Errorf("re-encoding: %v", err)
			}
		}
		decode("t", res, validEnrollment)
		decode("t", res, validSession)
		decode[api.Announcements]("t", res, nil)
		decode[api.Error]("t", res, nil)
		if e, err := decode("t", res, validEnrollment); err == nil && e.OTPAuthURI == "" {
			t.Errorf("accepted enrollment without uri")
		}
	})
}

type errString string

func (e errString) Error() string { return string(e) }
