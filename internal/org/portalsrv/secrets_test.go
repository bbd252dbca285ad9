package portalsrv_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
)

// The database's files, read byte by byte, hold none of the TOTP secrets
// the portal handed out: not the confirmed one, not the one a
// re-enrollment replaced, not an abandoned enrollment's.
func TestNoSecretInDatabaseFiles(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	now := env.Clock.Now()

	act := env.AddUser(t, "anna", "Anna")
	first := startEnrollment(t, r, "anna", act)
	if a := confirm(t, r, first.EnrollmentID, authcodetest.Code(t, first.Secret, now)); a.status != http.StatusOK {
		t.Fatalf("confirm = %d %s", a.status, a.body)
	}
	// New laptop: IT sends a new letter, anna enrolls again.
	act2, err := portalsrv.IssueActivationCode(context.Background(), env.Store, "anna", now, 0)
	if err != nil {
		t.Fatalf("IssueActivationCode: %v", err)
	}
	second := startEnrollment(t, r, "anna", act2)
	if a := confirm(t, r, second.EnrollmentID, authcodetest.Code(t, second.Secret, now)); a.status != http.StatusOK {
		t.Fatalf("second confirm = %d %s", a.status, a.body)
	}
	// Bernd starts and walks away.
	abandoned := startEnrollment(t, r, "bernd", env.AddUser(t, "bernd", "Bernd"))

	secrets := map[string]string{"confirmed then replaced": first.Secret, "current": second.Secret, "abandoned": abandoned.Secret}
	scan := func(when string) {
		t.Helper()
		for _, name := range []string{"portal.db", "portal.db-wal", "portal.db-shm", "portal.db-journal"} {
			b, err := os.ReadFile(filepath.Join(env.Dir, name))
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for what, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s: %s holds the %s secret in clear text", when, name, what)
				}
			}
		}
	}
	scan("while running")
	env.Stop()
	scan("after stopping")
}
