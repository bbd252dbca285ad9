package portalsrv_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

func wantProblem(tb testing.TB, what string, a answer, status int, code string) {
	tb.Helper()
	var e api.Error
	if a.status != status || json.Unmarshal(a.body, &e) != nil || e.Code != code {
		tb.Errorf("%s = %d %s, want %d %s", what, a.status, a.body, status, code)
	}
}

// A user disabled by IT (e.g. gone from the directory) can neither start
// a session with the old laptop nor enroll again with a valid code, and
// is told so; enabled again, the user enrolls with a new code.
func TestDisabledUserCannotEnrollOrStartASession(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	cred, secret := enrolledDevice(t, env, r, "anna")
	ctx := context.Background()
	env.Clock.Advance(time.Hour)

	revoked, err := env.Store.DisableUser(ctx, "anna", env.Clock.Now())
	if err != nil || len(revoked) != 1 {
		t.Fatalf("DisableUser = %v, %v", revoked, err)
	}
	wantProblem(t, "session with the old laptop", authorise(t, r, cred, authcodetest.Code(t, secret, env.Clock.Now())), http.StatusForbidden, api.CodeUserDisabled)

	code, err := portalsrv.IssueActivationCode(ctx, env.Store, "anna", env.Clock.Now(), 0)
	if err != nil {
		t.Fatalf("IssueActivationCode: %v", err)
	}
	start := r.do(t, "POST", "/api/v1/enrollments", jsonBody(t, api.EnrollmentStartRequest{User: "anna", ActivationCode: code}))
	wantProblem(t, "enrollment of a disabled user", start, http.StatusForbidden, api.CodeUserDisabled)
	// A wrong code still gets the answer a stranger gets.
	wantProblem(t, "wrong code for a disabled user", wrongActivation(t, r, "anna"), http.StatusUnauthorized, api.CodeInvalidLogin)

	if err := env.Store.EnableUser(ctx, "anna"); err != nil {
		t.Fatalf("EnableUser: %v", err)
	}
	wantProblem(t, "old laptop after enabling", authorise(t, r, cred, authcodetest.Code(t, secret, env.Clock.Now())), http.StatusUnauthorized, api.CodeUnauthorised)
	en := startEnrollment(t, r, "anna", code)
	if a := confirm(t, r, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now())); a.status != http.StatusOK {
		t.Fatalf("confirm after enabling = %d %s", a.status, a.body)
	}
}
