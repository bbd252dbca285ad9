package portalsrv_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// raw is a plain HTTPS client that pins the portal's CA, for checking
// answers byte by byte.
type raw struct {
	env *portaltest.Env
	hc  *http.Client
}

func newRaw(tb testing.TB, env *portaltest.Env) *raw {
	tb.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(env.CAPEM)) {
		tb.Fatalf("CA PEM unusable")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	tb.Cleanup(tr.CloseIdleConnections)
	return &raw{env: env, hc: &http.Client{Transport: tr}}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (r *raw) do(tb testing.TB, method, path, body string, hdr ...string) answer {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, r.env.URL+path, rd)
	if err != nil {
		tb.Fatalf("NewRequest: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("reading answer: %v", err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func (a answer) apiError(tb testing.TB) api.Error {
	tb.Helper()
	var e api.Error
	if err := json.Unmarshal(a.body, &e); err != nil {
		tb.Fatalf("error body %q: %v", a.body, err)
	}
	return e
}

func jsonBody(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("Marshal: %v", err)
	}
	return string(b)
}

func startEnrollment(tb testing.TB, r *raw, user, act string) api.EnrollmentStartResponse {
	tb.Helper()
	a := r.do(tb, "POST", "/api/v1/enrollments", jsonBody(tb, api.EnrollmentStartRequest{User: user, ActivationCode: act}))
	if a.status != http.StatusCreated {
		tb.Fatalf("enrollment start = %d %s", a.status, a.body)
	}
	var res api.EnrollmentStartResponse
	if err := json.Unmarshal(a.body, &res); err != nil {
		tb.Fatalf("Unmarshal: %v", err)
	}
	return res
}

func confirm(tb testing.TB, r *raw, id, c string) answer {
	tb.Helper()
	return r.do(tb, "POST", "/api/v1/enrollments/confirm", jsonBody(tb, api.EnrollmentConfirmRequest{EnrollmentID: id, Code: c}))
}

func TestUnknownUserAndWrongCodeGetIdenticalAnswers(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	env.AddUser(t, "anna", "Anna")
	wrong := r.do(t, "POST", "/api/v1/enrollments", `{"user":"anna","activation_code":"AAAA-BBBB-CCCC"}`)
	unknown := r.do(t, "POST", "/api/v1/enrollments", `{"user":"ghost","activation_code":"AAAA-BBBB-CCCC"}`)
	if wrong.status != http.StatusUnauthorized {
		t.Fatalf("wrong code status = %d, body %s", wrong.status, wrong.body)
	}
	if wrong.status != unknown.status || !bytes.Equal(wrong.body, unknown.body) {
		t.Fatalf("answers differ:\nwrong code:   %d %s\nunknown user: %d %s", wrong.status, wrong.body, unknown.status, unknown.body)
	}
	for _, h := range []string{"Content-Type", "Content-Length", "Date", "Retry-After", "Cache-Control"} {
		if wrong.header.Get(h) != unknown.header.Get(h) {
			t.Errorf("header %s differs: %q vs %q", h, wrong.header.Get(h), unknown.header.Get(h))
		}
	}
	if e := wrong.apiError(t); e.Code != api.CodeInvalidLogin || e.AttemptsLeft == nil || *e.AttemptsLeft != 4 {
		t.Errorf("error = %+v, want invalid_login with 4 attempts left", e)
	}
}

func TestActivationCodeRules(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	ctx := context.Background()

	t.Run("used_code_rejected", func(t *testing.T) {
		act := env.AddUser(t, "used", "Used")
		en := startEnrollment(t, r, "used", act)
		if a := confirm(t, r, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now())); a.status != http.StatusOK {
			t.Fatalf("confirm = %d %s", a.status, a.body)
		}
		a := r.do(t, "POST", "/api/v1/enrollments", jsonBody(t, api.EnrollmentStartRequest{User: "used", ActivationCode: act}))
		if e := a.apiError(t); a.status != http.StatusConflict || e.Code != api.CodeActivationUsed {
			t.Errorf("reuse = %d %s, want 409 activation_code_used", a.status, a.body)
		}
	})
	t.Run("expired_code_rejected", func(t *testing.T) {
		if err := env.Store.CreateUser(ctx, store.User{Name: "late", DisplayName: "Late"}); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		act, err := portalsrv.IssueActivationCode(ctx, env.Store, "late", env.Clock.Now().Add(-15*24*time.Hour), 14*24*time.Hour)
		if err != nil {
			t.Fatalf("IssueActivationCode: %v", err)
		}
		a := r.do(t, "POST", "/api/v1/enrollments", jsonBody(t, api.EnrollmentStartRequest{User: "late", ActivationCode: act}))
		if e := a.apiError(t); a.status != http.StatusGone || e.Code != api.CodeActivationExpired {
			t.Errorf("expired = %d %s, want 410 activation_code_expired", a.status, a.body)
		}
	})
	t.Run("reissued_code_invalidates_pending_enrollment", func(t *testing.T) {
		act := env.AddUser(t, "reissued", "Reissued")
		en := startEnrollment(t, r, "reissued", act)
		if _, err := portalsrv.IssueActivationCode(ctx, env.Store, "reissued", env.Clock.Now(), 0); err != nil {
			t.Fatalf("IssueActivationCode: %v", err)
		}
		// The new code deleted the pending enrollment and its secret:
		// the user starts again with the new letter.
		a := confirm(t, r, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now()))
		if e := a.apiError(t); a.status != http.StatusGone || e.Code != api.CodeEnrollmentExpired {
			t.Errorf("confirm after reissue = %d %s, want 410 enrollment_expired", a.status, a.body)
		}
	})
	t.Run("abandoned_enrollment_expires", func(t *testing.T) {
		clk := portaltest.NewClock(env.Clock.Now())
		env2 := portaltest.Start(t, portaltest.Options{Clock: clk})
		r2 := newRaw(t, env2)
		act := env2.AddUser(t, "slow", "Slow")
		en := startEnrollment(t, r2, "slow", act)
		clk.Advance(25 * time.Hour)
		a := confirm(t, r2, en.EnrollmentID, authcodetest.Code(t, en.Secret, clk.Now()))
		if e := a.apiError(t); a.status != http.StatusGone || e.Code != api.CodeEnrollmentExpired {
			t.Errorf("confirm after 25h = %d %s, want 410 enrollment_expired", a.status, a.body)
		}
	})
}

func TestTOTPRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"minus_two_steps", -2 * authcode.Period, false},
		{"minus_one_step", -authcode.Period, true},
		{"current_step", 0, true},
		{"plus_one_step", authcode.Period, true},
		{"plus_two_steps", 2 * authcode.Period, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := portaltest.Start(t, portaltest.Options{})
			r := newRaw(t, env)
			en := startEnrollment(t, r, "u", env.AddUser(t, "u", "U"))
			a := confirm(t, r, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now().Add(tc.offset)))
			if got := a.status == http.StatusOK; got != tc.ok {
				t.Errorf("confirm with code %v off = %d %s, want ok=%v", tc.offset, a.status, a.body, tc.ok)
			}
		})
	}

	t.Run("replay_rejected", func(t *testing.T) {
		t.Parallel()
		env := portaltest.Start(t, portaltest.Options{})
		r := newRaw(t, env)
		en := startEnrollment(t, r, "u", env.AddUser(t, "u", "U"))
		c := authcodetest.Code(t, en.Secret, env.Clock.Now())
		if a := confirm(t, r, en.EnrollmentID, c); a.status != http.StatusOK {
			t.Fatalf("first use = %d %s", a.status, a.body)
		}
		// Even 20 s later, within the same step window, the code is spent.
		env.Clock.Advance(20 * time.Second)
		a := confirm(t, r, en.EnrollmentID, c)
		if e := a.apiError(t); a.status != http.StatusConflict || e.Code != api.CodeCodeReused {
			t.Errorf("replay = %d %s, want 409 code_reused", a.status, a.body)
		}
		// The next step's code works.
		env.Clock.Advance(authcode.Period)
		if a := confirm(t, r, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now())); a.status != http.StatusOK {
			t.Errorf("next code = %d %s", a.status, a.body)
		}
	})

	t.Run("five_failures_lock", func(t *testing.T) {
		t.Parallel()
		env := portaltest.Start(t, portaltest.Options{})
		r := newRaw(t, env)
		en := startEnrollment(t, r, "u", env.AddUser(t, "u", "U"))
		good := authcodetest.Code(t, en.Secret, env.Clock.Now())
		wrong := "000000"
		if wrong == good {
			wrong = "111111"
		}
		for i := 1; i <= 4; i++ {
			a := confirm(t, r, en.EnrollmentID, wrong)
			e := a.apiError(t)
			if a.status != http.StatusUnauthorized || e.Code != api.CodeWrongCode || e.AttemptsLeft == nil || *e.AttemptsLeft != 5-i {
				t.Fatalf("failure %d = %d %s, want wrong_code with %d left", i, a.status, a.body, 5-i)
			}
			env.Clock.Advance(10 * time.Second)
		}
		a := confirm(t, r, en.EnrollmentID, wrong)
		e := a.apiError(t)
		if a.status != http.StatusTooManyRequests || e.Code != api.CodeLocked || !strings.Contains(e.Message, "locked for 5 minutes") {
			t.Fatalf("fifth failure = %d %s, want 429 locked for 5 minutes", a.status, a.body)
		}
		if a.header.Get("Retry-After") != "300" {
			t.Errorf("Retry-After = %q, want 300", a.header.Get("Retry-After"))
		}
		// A correct code does not get through the lock.
		env.Clock.Advance(2 * time.Minute)
		a = confirm(t, r, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now()))
		if e := a.apiError(t); e.Code != api.CodeLocked || !strings.Contains(e.Message, "locked for 3 minutes") {
			t.Errorf("during lock = %d %s, want locked for 3 minutes", a.status, a.body)
		}
		env.Clock.Advance(3 * time.Minute)
		if a := confirm(t, r, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now())); a.status != http.StatusOK {
			t.Errorf("after lock = %d %s, want 200", a.status, a.body)
		}
	})

	t.Run("failures_outside_window_do_not_lock", func(t *testing.T) {
		t.Parallel()
		env := portaltest.Start(t, portaltest.Options{})
		r := newRaw(t, env)
		en := startEnrollment(t, r, "u", env.AddUser(t, "u", "U"))
		for i := 0; i < 8; i++ {
			a := confirm(t, r, en.EnrollmentID, "00000"+string(rune('0'+i%2)))
			if e := a.apiError(t); e.Code == api.CodeLocked {
				t.Fatalf("locked after %d failures spread over %v", i+1, time.Duration(i)*90*time.Second)
			}
			env.Clock.Advance(90 * time.Second)
		}
	})
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
		msg    string
	}{
		{"malformed_json", `{"user": "anna",`, 400, api.CodeMalformedJSON, "not valid JSON"},
		{"syntax_error", `{"user" "anna"}`, 400, api.CodeMalformedJSON, "not valid JSON at byte"},
		{"wrong_type", `{"user": 5, "activation_code": "x"}`, 400, api.CodeMalformedJSON, `field "user" must be string`},
		{"empty_body", ``, 400, api.CodeMalformedJSON, "empty"},
		{"trailing_data", `{"user":"a","activation_code":"b"} {}`, 400, api.CodeMalformedJSON, "after the JSON object"},
		{"oversized", `{"user":"` + strings.Repeat("a", 20<<10) + `"}`, 413, api.CodeBodyTooLarge, "larger than"},
		{"missing_fields", `{}`, 400, api.CodeBadRequest, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := r.do(t, "POST", "/api/v1/enrollments", tc.body, "Content-Type", "application/json")
			e := a.apiError(t)
			if a.status != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("answer = %d %s; want %d %s containing %q", a.status, a.body, tc.status, tc.code, tc.msg)
			}
		})
	}
	t.Run("unknown_path_is_json_404", func(t *testing.T) {
		a := r.do(t, "GET", "/api/v1/nothing", "")
		if a.status != 404 || a.apiError(t).Code != api.CodeNotFound {
			t.Errorf("answer = %d %s", a.status, a.body)
		}
	})
	t.Run("bad_public_key", func(t *testing.T) {
		a := r.do(t, "POST", "/api/v1/devices", `{"enrollment_id":"dwe1_x","public_key":"c2hvcnQ="}`)
		if e := a.apiError(t); a.status != 400 || !strings.Contains(e.Message, "public_key") {
			t.Errorf("answer = %d %s", a.status, a.body)
		}
	})
	t.Run("session_without_credential", func(t *testing.T) {
		a := r.do(t, "POST", "/api/v1/session", `{"code":"123456"}`)
		if a.status != 401 || a.apiError(t).Code != api.CodeUnauthorised {
			t.Errorf("answer = %d %s", a.status, a.body)
		}
	})
}

func TestDateHeaderFromInjectedClock(t *testing.T) {
	t.Parallel()
	clk := portaltest.NewClock(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))
	env := portaltest.Start(t, portaltest.Options{Clock: clk})
	a := newRaw(t, env).do(t, "GET", "/api/v1/health", "")
	if got := a.header.Get("Date"); got != "Tue, 06 May 2031 07:08:09 GMT" {
		t.Errorf("Date = %q", got)
	}
}

func TestEveryAPIRouteIsServed(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hit := map[string]bool{}
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{
		Observe: func(route string, status int, d time.Duration) {
			mu.Lock()
			hit[route] = true
			mu.Unlock()
		},
	}})
	r := newRaw(t, env)
	for _, route := range api.AllRoutes {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer("{channel}", "stable", "{name}", "file").Replace(path)
		a := r.do(t, method, path, "{}")
		if a.status == http.StatusMethodNotAllowed || strings.Contains(string(a.body), "no such API endpoint") {
			t.Errorf("%s: not served (%d %s)", route, a.status, a.body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, route := range api.AllRoutes {
		if !hit[route] {
			t.Errorf("%s: no handler matched", route)
		}
	}
}
