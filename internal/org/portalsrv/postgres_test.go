package portalsrv_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/org/store/pgtest"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openPostgres opens the store on one pgtest database; each call is
// another portal instance's handle.
func openPostgres(url string) func(testing.TB) store.Store {
	return func(tb testing.TB) store.Store {
		tb.Helper()
		s, err := store.OpenPostgres(context.Background(), url)
		if err != nil {
			tb.Fatalf("OpenPostgres: %v", err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	}
}

// Two portal instances on one PostgreSQL database act as one portal: an
// enrollment started at one is confirmed at the other, a code spent at
// one is refused at the other, failures at both add up to one lock.
func TestTwoPortalsOnOnePostgres(t *testing.T) {
	t.Parallel()
	open := openPostgres(pgtest.NewDatabase(t))
	keys := filepath.Join(t.TempDir(), "secrets.key") // one key file for both, as on several hosts
	a := portaltest.Start(t, portaltest.Options{OpenStore: open, KeyFile: keys})
	b := portaltest.Start(t, portaltest.Options{OpenStore: open, KeyFile: keys, Clock: a.Clock, Config: a.Config})
	ra, rb := newRaw(t, a), newRaw(t, b)
	clock := a.Clock

	en := startEnrollment(t, ra, "anna", a.AddUser(t, "anna", "Anna"))
	if r := confirm(t, rb, en.EnrollmentID, authcodetest.Code(t, en.Secret, clock.Now())); r.status != http.StatusOK {
		t.Fatalf("confirm at the other instance = %d %s", r.status, r.body)
	}
	reg := ra.do(t, "POST", "/api/v1/devices", jsonBody(t, api.DeviceRegisterRequest{EnrollmentID: en.EnrollmentID, PublicKey: portaltest.NewWGKey()}))
	if reg.status != http.StatusCreated {
		t.Fatalf("register = %d %s", reg.status, reg.body)
	}
	var dev api.DeviceRegisterResponse
	if err := json.Unmarshal(reg.body, &dev); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}

	// Morning: the session code is accepted at b and spent for a.
	clock.Advance(authcode.Period)
	code := authcodetest.Code(t, en.Secret, clock.Now())
	if r := authorise(t, rb, dev.Credential, code); r.status != http.StatusOK {
		t.Fatalf("session at b = %d %s", r.status, r.body)
	}
	if r := authorise(t, ra, dev.Credential, code); r.status != http.StatusConflict || r.apiError(t).Code != api.CodeCodeReused {
		t.Errorf("the same code at a = %d %s, want 409 code_reused", r.status, r.body)
	}
	if ds, err := a.Store.AuthorisedDevices(context.Background(), clock.Now()); err != nil || len(ds) != 1 {
		t.Errorf("authorised devices seen by a = %+v, %v; want the one", ds, err)
	}

	// Wrong codes alternate between the instances and lock both.
	clock.Advance(authcode.Period)
	wrong := "000000"
	if wrong == authcodetest.Code(t, en.Secret, clock.Now()) {
		wrong = "111111"
	}
	locked := false
	for i := range 5 {
		r := authorise(t, []*raw{ra, rb}[i%2], dev.Credential, wrong)
		locked = r.status == http.StatusTooManyRequests
	}
	if !locked {
		t.Fatalf("five wrong codes over two instances did not lock")
	}
	for _, r := range []*raw{ra, rb} {
		got := authorise(t, r, dev.Credential, authcodetest.Code(t, en.Secret, clock.Now().Add(10*time.Second)))
		if got.status != http.StatusTooManyRequests || got.apiError(t).Code != api.CodeLocked {
			t.Errorf("right code during the lock = %d %s, want 429 locked", got.status, got.body)
		}
	}
}
