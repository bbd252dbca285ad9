package portalsrv_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// enrolledDevice enrolls user through the API and registers a device; it
// returns the device credential and the user's TOTP secret.
func enrolledDevice(tb testing.TB, env *portaltest.Env, r *raw, user string) (cred, secret string) {
	tb.Helper()
	en := startEnrollment(tb, r, user, env.AddUser(tb, user, user))
	if a := confirm(tb, r, en.EnrollmentID, authcodetest.Code(tb, en.Secret, env.Clock.Now())); a.status != http.StatusOK {
		tb.Fatalf("confirm = %d %s", a.status, a.body)
	}
	a := r.do(tb, "POST", "/api/v1/devices", jsonBody(tb, api.DeviceRegisterRequest{EnrollmentID: en.EnrollmentID, PublicKey: portaltest.NewWGKey()}))
	if a.status != http.StatusCreated {
		tb.Fatalf("register = %d %s", a.status, a.body)
	}
	var res api.DeviceRegisterResponse
	if err := json.Unmarshal(a.body, &res); err != nil {
		tb.Fatalf("Unmarshal: %v", err)
	}
	return res.Credential, en.Secret
}

func authorise(tb testing.TB, r *raw, cred, c string) answer {
	tb.Helper()
	return r.do(tb, "POST", "/api/v1/session", jsonBody(tb, api.SessionRequest{Code: c}), "Authorization", "Bearer "+cred)
}

func wrongActivation(tb testing.TB, r *raw, user string, hdr ...string) answer {
	tb.Helper()
	return r.do(tb, "POST", "/api/v1/enrollments", jsonBody(tb, api.EnrollmentStartRequest{User: user, ActivationCode: "AAAA-BBBB-CCCC"}), hdr...)
}

// The attack from issue 13: a stranger sends five wrong activation codes
// for an enrolled employee before work; the employee's device must still
// open the morning session with the right code.
func TestWrongActivationCodesDoNotLockTheSession(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	cred, secret := enrolledDevice(t, env, r, "anna")
	env.Clock.Advance(24 * time.Hour) // the next morning

	for i := 1; i <= 5; i++ {
		a := wrongActivation(t, r, "anna")
		want := http.StatusUnauthorized
		if i == 5 {
			want = http.StatusTooManyRequests // activation codes still lock
		}
		if a.status != want {
			t.Fatalf("wrong activation code %d = %d %s, want %d", i, a.status, a.body, want)
		}
	}
	// Nor do session codes sent without this device's credential count.
	for i := 0; i < 10; i++ {
		a := authorise(t, r, "dwd1_stolen-guess", "000000")
		if e := a.apiError(t); a.status != http.StatusUnauthorized || e.Code != api.CodeUnauthorised {
			t.Fatalf("session without credential = %d %s", a.status, a.body)
		}
	}
	a := authorise(t, r, cred, authcodetest.Code(t, secret, env.Clock.Now()))
	if a.status != http.StatusOK {
		t.Fatalf("morning session after the attack = %d %s, want 200", a.status, a.body)
	}
}

// Each factor has its own counter: wrong session codes do not use up the
// attempts of the activation code, and the reverse.
func TestFactorsCountApart(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	cred, _ := enrolledDevice(t, env, r, "bernd")
	for i := 1; i <= 4; i++ {
		a := authorise(t, r, cred, "000000")
		if e := a.apiError(t); e.Code != api.CodeWrongCode || *e.AttemptsLeft != 5-i {
			t.Fatalf("wrong session code %d = %d %s", i, a.status, a.body)
		}
	}
	a := wrongActivation(t, r, "bernd")
	if e := a.apiError(t); e.Code != api.CodeInvalidLogin || e.AttemptsLeft == nil || *e.AttemptsLeft != 4 {
		t.Errorf("activation code after 4 wrong session codes = %d %s, want invalid_login with 4 left", a.status, a.body)
	}
	a = authorise(t, r, cred, "000000")
	if e := a.apiError(t); a.status != http.StatusTooManyRequests || e.Code != api.CodeLocked {
		t.Errorf("fifth wrong session code = %d %s, want locked", a.status, a.body)
	}
}

// One address trying many names is limited, whatever X-Forwarded-For it
// claims, and the limit holds on another portal instance on the same store.
func TestOneSourceManyNamesIsLimited(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	const burst = 20 // Config.SourceBurst's default
	var limited answer
	processed := 0
	for i := 0; i < 40; i++ {
		a := wrongActivation(t, r, fmt.Sprintf("name%02d", i), "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		switch a.status {
		case http.StatusUnauthorized:
			processed++
		case http.StatusTooManyRequests:
			limited = a
		default:
			t.Fatalf("attempt %d = %d %s", i, a.status, a.body)
		}
	}
	if processed != burst {
		t.Fatalf("%d of 40 names from one address were checked, want %d", processed, burst)
	}
	e := limited.apiError(t)
	if e.Code != api.CodeRateLimited || e.RetryAfterSeconds != 15 || limited.header.Get("Retry-After") != "15" {
		t.Errorf("limited answer = %s, Retry-After %q; want rate_limited after 15 s", limited.body, limited.header.Get("Retry-After"))
	}

	other := newRaw(t, portaltest.Start(t, portaltest.Options{Dir: env.Dir, Clock: env.Clock}))
	if a := wrongActivation(t, other, "name99"); a.status != http.StatusTooManyRequests {
		t.Errorf("second instance = %d %s, want 429", a.status, a.body)
	}
	env.Clock.Advance(15 * time.Second)
	if a := wrongActivation(t, r, "name98"); a.status != http.StatusUnauthorized {
		t.Errorf("after 15 s = %d %s, want one more check", a.status, a.body)
	}
	if a := wrongActivation(t, r, "name97"); a.status != http.StatusTooManyRequests {
		t.Errorf("then = %d %s, want 429 again", a.status, a.body)
	}
}

// Right codes cost the source nothing: a whole office behind one address
// enrolls at once, also all in the same moment.
func TestRightActivationCodesDoNotDrainTheSource(t *testing.T) {
	t.Parallel()
	const clerks = 6
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{SourceBurst: 2}})
	r := newRaw(t, env)
	bodies := make([]string, clerks)
	for i := range bodies {
		user := fmt.Sprintf("clerk%d", i)
		bodies[i] = jsonBody(t, api.EnrollmentStartRequest{User: user, ActivationCode: env.AddUser(t, user, user)})
	}
	statuses := make(chan string, clerks)
	for _, b := range bodies {
		go func() {
			resp, err := r.hc.Post(env.URL+"/api/v1/enrollments", "application/json", strings.NewReader(b))
			if err != nil {
				statuses <- err.Error()
				return
			}
			resp.Body.Close()
			statuses <- resp.Status
		}()
	}
	for range clerks {
		if st := <-statuses; st != "201 Created" {
			t.Errorf("enrollment with the right code = %s, want 201", st)
		}
	}
	if a := wrongActivation(t, r, "clerk0"); a.status != http.StatusUnauthorized {
		t.Errorf("wrong code after %d right ones = %d %s, want it checked", clerks, a.status, a.body)
	}
}

// After a lock ends all attempts are back, although the failures that
// led to it are not forgotten at lock time any more.
func TestLockEndGivesAllAttemptsBack(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{LockWindow: 30 * time.Minute}})
	r := newRaw(t, env)
	for i := 1; i <= 5; i++ {
		wrongActivation(t, r, "carla")
	}
	if a := wrongActivation(t, r, "carla"); a.status != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt = %d %s, want locked", a.status, a.body)
	}
	env.Clock.Advance(5 * time.Minute)
	for i := 1; i <= 4; i++ {
		a := wrongActivation(t, r, "carla")
		if e := a.apiError(t); a.status != http.StatusUnauthorized || *e.AttemptsLeft != 5-i {
			t.Fatalf("attempt %d after the lock = %d %s, want %d left", i, a.status, a.body, 5-i)
		}
	}
	if a := wrongActivation(t, r, "carla"); a.status != http.StatusTooManyRequests {
		t.Errorf("fifth attempt after the lock = %d %s, want locked again", a.status, a.body)
	}
}
