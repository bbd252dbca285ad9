package enroll_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/portal"
)

func TestHappyPath(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := w.machine(t)
	ctx := context.Background()

	v := m.View()
	wantStep(t, v, enroll.StepWelcome, enroll.PageStep)
	if v.Code != "E1" || v.Number != 1 || v.Total != 6 || !v.CanNext || v.CanBack {
		t.Fatalf("welcome view %+v", v)
	}
	v = must(t)(m.Next(ctx))
	wantStep(t, v, enroll.StepSignIn, enroll.PageStep)
	if v.Code != "E2" || len(v.Fields) != 2 {
		t.Fatalf("sign-in view %+v", v)
	}
	v = must(t)(m.SubmitSignIn(ctx, "  "+w.user+" ", w.code))
	wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
	a := v.Authenticator
	if a == nil || !a.Hidden || a.URI != "" || a.ManualKey != "" {
		t.Fatalf("authenticator step must start hidden: %+v", a)
	}
	if a.Issuer != "Stadt Musterstadt" || a.Account != w.user || len(a.Apps) == 0 || v.DisplayName != "Maria Mustermann" {
		t.Fatalf("authenticator view %+v, name %q", a, v.DisplayName)
	}
	v = must(t)(m.ToggleSecret())
	secret := secretOfURI(t, v.Authenticator.URI.Reveal())
	if got, want := v.Authenticator.ManualKey.Reveal(), groupsOfFour(secret); got != want {
		t.Fatalf("manual key %q, want %q", got, want)
	}
	v = must(t)(m.Next(ctx))
	wantStep(t, v, enroll.StepConfirm, enroll.PageStep)
	v = must(t)(m.SubmitCode(ctx, spaced(w.totp(t, secret))))
	wantStep(t, v, enroll.StepDevice, enroll.PageStep)
	if v.CanBack || v.Code != "E5" {
		t.Fatalf("device view %+v", v)
	}
	v = must(t)(m.Next(ctx))
	wantStep(t, v, enroll.StepTest, enroll.PageStep)
	if len(v.Checks) != 2 || !v.Checks[0].OK || !v.Checks[1].OK || v.Error != nil {
		t.Fatalf("test view %+v, error %v", v.Checks, v.Error)
	}
	v = must(t)(m.Next(ctx))
	wantStep(t, v, enroll.StepDone, enroll.PageStep)
	if !v.Enrolled || v.Code != "E7" || !m.Enrolled() {
		t.Fatalf("done view %+v", v)
	}

	dev, err := enroll.LoadDevice(ctx, w.ks)
	if err != nil {
		t.Fatalf("LoadDevice: %v", err)
	}
	w.checkDeviceMatchesPortal(t, dev)
	// Only the final accounts are left in the keyring.
	snap := w.ks.(*keyring.Mem).Snapshot()
	if len(snap) != 2 {
		t.Fatalf("keyring holds %d items, want 2: %v", len(snap), keysOf(snap))
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func spaced(code string) string { return code[:3] + " " + code[3:] }

func groupsOfFour(s string) string {
	out := ""
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			out += " "
		}
		out += string(r)
	}
	return out
}

// checkDeviceMatchesPortal asserts the keyring's device is whole: the
// portal knows the credential, and for it the key the keyring holds.
func (w *world) checkDeviceMatchesPortal(tb testing.TB, dev *enroll.Device) {
	tb.Helper()
	c := w.env.Client(tb, nil)
	c.SetCredential(dev.Credential.Reveal())
	info, err := c.Device(context.Background())
	if err != nil {
		tb.Fatalf("portal does not know the stored credential: %v", err)
	}
	if info.PublicKey != dev.PublicKey {
		tb.Fatalf("portal has key %s for the credential, keyring has %s: half a device", info.PublicKey, dev.PublicKey)
	}
}

func TestSignInErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *world)
		user  string // "" means the world's user
		code  string // "" means the world's code; "-" means empty
		key   string
		args  []string
	}{
		{name: "no_user", user: " ", key: "enroll.error.user_missing"},
		{name: "no_code", code: "-", key: "enroll.error.activation_missing"},
		{name: "wrong_code", code: "AAAA-BBBB-CCCC", key: portal.KeyInvalidLoginAttempts, args: []string{"Attempts", "4"}},
		// Same answer as a wrong code: nobody can probe for user names.
		{name: "unknown_user", user: "nobody", key: portal.KeyInvalidLoginAttempts, args: []string{"Attempts", "4"}},
		{name: "expired_code", key: portal.KeyActivationExpired, setup: func(t *testing.T, w *world) {
			w.env.Clock.Advance(portalsrv.DefaultActivationTTL + time.Hour)
		}},
		{name: "used_code", key: portal.KeyActivationUsed, setup: func(t *testing.T, w *world) {
			w.toDevice(t, w.machine(t)) // confirmed: the code is spent
			if err := removeState(w); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "locked", code: "AAAA-BBBB-CCCC", key: portal.KeyLockedUntil, args: []string{"Time", "09:06"}, setup: func(t *testing.T, w *world) {
			m := w.machine(t)
			must(t)(m.Next(context.Background()))
			for range 4 {
				must(t)(m.SubmitSignIn(context.Background(), w.user, "AAAA-BBBB-CCCC"))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			if tc.setup != nil {
				tc.setup(t, w)
			}
			user, code := w.user, w.code
			if tc.user != "" {
				user = tc.user
			}
			switch tc.code {
			case "-":
				code = ""
			case "":
			default:
				code = tc.code
			}
			m := w.machine(t)
			if m.View().Step == enroll.StepWelcome {
				must(t)(m.Next(context.Background()))
			}
			v := must(t)(m.SubmitSignIn(context.Background(), user, code))
			wantStep(t, v, enroll.StepSignIn, enroll.PageStep)
			wantMsg(t, "error", v.Error, tc.key, tc.args...)
			if v.User != user && tc.user != " " {
				t.Fatalf("user name not kept for correcting: %q", v.User)
			}
		})
	}
}

func removeState(w *world) error {
	m, err := enroll.New(context.Background(), enroll.Config{Portal: w.client, Keyring: w.ks, StateDir: w.dir, Now: w.now})
	if err != nil {
		return err
	}
	_, err = m.Restart(context.Background())
	return err
}

func TestConfirmErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// code returns what the user types, given the secret.
		code  func(w *world, secret string) string
		setup func(t *testing.T, w *world, m *enroll.Machine)
		step  enroll.Step
		key   string
		args  []string
	}{
		{name: "too_short", code: func(*world, string) string { return "12345" }, step: enroll.StepConfirm, key: "code.format"},
		{name: "letters", code: func(*world, string) string { return "12a456" }, step: enroll.StepConfirm, key: "code.format"},
		{name: "wrong", code: wrongCode, step: enroll.StepConfirm, key: portal.KeyWrongCodeAttempts, args: []string{"Attempts", "4"}},
		{name: "locked", code: wrongCode, step: enroll.StepConfirm, key: portal.KeyLockedUntil, args: []string{"Time", "09:06"},
			setup: func(t *testing.T, w *world, m *enroll.Machine) {
				for range 4 {
					must(t)(m.SubmitCode(context.Background(), "000000"))
				}
			}},
		{name: "enrollment_expired_starts_over", step: enroll.StepSignIn, key: portal.KeyEnrollmentExpired,
			setup: func(t *testing.T, w *world, m *enroll.Machine) { w.env.Clock.Advance(25 * time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			m := w.machine(t)
			_, secret := w.toAuthenticator(t, m)
			must(t)(m.Next(context.Background()))
			if tc.setup != nil {
				tc.setup(t, w, m)
			}
			code := w.totp(t, secret)
			if tc.code != nil {
				code = tc.code(w, secret)
			}
			v := must(t)(m.SubmitCode(context.Background(), code))
			wantStep(t, v, tc.step, enroll.PageStep)
			wantMsg(t, "error", v.Error, tc.key, tc.args...)
		})
	}
}

// wrongCode is a valid-looking code that is not the current one.
func wrongCode(w *world, secret string) string {
	tb := w.tb
	right := authcodetest.Code(tb, secret, w.env.Clock.Now())
	for _, c := range []string{"000000", "111111"} {
		if c != right && c != authcodetest.Code(tb, secret, w.env.Clock.Now().Add(-authcode.Period)) && c != authcodetest.Code(tb, secret, w.env.Clock.Now().Add(authcode.Period)) {
			return c
		}
	}
	return "222222"
}

func TestCodeReused(t *testing.T) {
	t.Parallel()
	ks := keyring.NewMem()
	w := newWorld(t, withKeyring(ks))
	m := w.machine(t)
	ctx := context.Background()
	_, secret := w.toAuthenticator(t, m)
	must(t)(m.Next(ctx))
	// The code reached the portal once already (say, an answer that got
	// lost): the same code again is refused as used, not as wrong.
	code := w.totp(t, secret)
	id, err := ks.Get(ctx, keyring.AccountPendingEnrollment)
	if err != nil {
		t.Fatalf("pending enrollment: %v", err)
	}
	if _, err := w.client.ConfirmEnrollment(ctx, id, code); err != nil {
		t.Fatalf("ConfirmEnrollment: %v", err)
	}
	v := must(t)(m.SubmitCode(ctx, code))
	wantStep(t, v, enroll.StepConfirm, enroll.PageStep)
	wantMsg(t, "error", v.Error, portal.KeyCodeReused)
	// The next code confirms (again): the wizard goes on.
	w.nextStep()
	v = must(t)(m.SubmitCode(ctx, w.totp(t, secret)))
	wantStep(t, v, enroll.StepDevice, enroll.PageStep)
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		skew time.Duration // local minus portal
		key  string
		args []string
	}{
		{"three_minutes_ahead", 3 * time.Minute, "enroll.clock.ahead_minutes", []string{"Minutes", "3"}},
		{"three_minutes_behind", -3 * time.Minute, "enroll.clock.behind_minutes", []string{"Minutes", "3"}},
		{"twenty_seconds_is_fine", 20 * time.Second, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var skew time.Duration = tc.skew
			w := newWorld(t)
			w.now = func() time.Time { return w.env.Clock.Now().Add(skew) }
			m := w.machine(t)
			ctx := context.Background()
			must(t)(m.Next(ctx))
			v := must(t)(m.SubmitSignIn(ctx, w.user, w.code))
			if tc.key == "" {
				wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
				return
			}
			wantStep(t, v, enroll.StepAuthenticator, enroll.PageClock)
			wantMsg(t, "error", v.Error, tc.key, tc.args...)
			if v.CanNext || !v.CanRetry || v.Authenticator != nil || v.Code != "E3" {
				t.Fatalf("clock page must block and offer Retry: %+v", v)
			}
			if _, err := m.Next(ctx); !errors.Is(err, enroll.ErrNotNow) {
				t.Fatalf("Next on the clock page = %v, want ErrNotNow", err)
			}
			if _, err := m.ToggleSecret(); !errors.Is(err, enroll.ErrNotNow) {
				t.Fatalf("ToggleSecret on the clock page = %v", err)
			}
			// Not fixed yet: still blocked.
			v = must(t)(m.Retry(ctx))
			wantStep(t, v, enroll.StepAuthenticator, enroll.PageClock)
			// The user fixes the clock (w.now reads skew).
			skew = 0
			v = must(t)(m.Retry(ctx))
			wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
			if v.Error != nil || !v.Authenticator.Hidden {
				t.Fatalf("after fixing: %+v", v)
			}
		})
	}
}

func TestBackAndHidden(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := w.machine(t)
	ctx := context.Background()
	v, _ := w.toAuthenticator(t, m)
	if v.Authenticator.Hidden {
		t.Fatal("ToggleSecret did not show the secret")
	}
	v = must(t)(m.Next(ctx))
	wantStep(t, v, enroll.StepConfirm, enroll.PageStep)
	v = must(t)(m.Back())
	wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
	if !v.Authenticator.Hidden || v.Authenticator.URI != "" {
		t.Fatalf("secret shown again on re-entry: %+v", v.Authenticator)
	}
	v = must(t)(m.Back())
	wantStep(t, v, enroll.StepSignIn, enroll.PageStep)
	if v.User != w.user {
		t.Fatalf("user not kept: %q", v.User)
	}
	v = must(t)(m.Back())
	wantStep(t, v, enroll.StepWelcome, enroll.PageStep)
	if _, err := m.Back(); !errors.Is(err, enroll.ErrNotNow) {
		t.Fatalf("Back on Welcome = %v", err)
	}
	if _, err := m.SubmitCode(ctx, "123456"); !errors.Is(err, enroll.ErrNotNow) {
		t.Fatalf("SubmitCode on Welcome = %v", err)
	}
	// Device step: no way back.
	w.toDevice(t, m)
	if _, err := m.Back(); !errors.Is(err, enroll.ErrNotNow) {
		t.Fatalf("Back on the device step = %v", err)
	}
}

func TestKeyringTroubleAtSignIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		key  string
	}{
		{"unavailable", keyring.ErrUnavailable, "enroll.keyring.unavailable"},
		{"locked", keyring.ErrLocked, "enroll.keyring.locked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ks := keyring.NewMem()
			w := newWorld(t, withKeyring(ks))
			m := w.machine(t)
			ctx := context.Background()
			must(t)(m.Next(ctx))
			ks.Fail(tc.err)
			v := must(t)(m.SubmitSignIn(ctx, w.user, w.code))
			wantStep(t, v, enroll.StepAuthenticator, enroll.PageKeyring)
			wantMsg(t, "error", v.Error, tc.key)
			if !v.CanRetry || v.CanNext || v.Authenticator != nil || v.Title != "enroll.page.keyring.title" {
				t.Fatalf("keyring page %+v", v)
			}
			v = must(t)(m.Retry(ctx))
			wantStep(t, v, enroll.StepAuthenticator, enroll.PageKeyring)
			ks.Fail(nil)
			v = must(t)(m.Retry(ctx))
			wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
		})
	}
}

func TestKeyringTroubleAtDevice(t *testing.T) {
	t.Parallel()
	ks := keyring.NewMem()
	w := newWorld(t, withKeyring(ks))
	m := w.machine(t)
	ctx := context.Background()
	w.toDevice(t, m)
	ks.Fail(keyring.ErrLocked)
	v := must(t)(m.Next(ctx))
	wantStep(t, v, enroll.StepDevice, enroll.PageKeyring)
	wantMsg(t, "error", v.Error, "enroll.keyring.locked")
	ks.Fail(nil)
	v = must(t)(m.Retry(ctx))
	wantStep(t, v, enroll.StepTest, enroll.PageStep)
	dev, err := enroll.LoadDevice(ctx, ks)
	if err != nil {
		t.Fatalf("LoadDevice: %v", err)
	}
	w.checkDeviceMatchesPortal(t, dev)
}

func TestSubscribe(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := w.machine(t)
	ch, cancel := m.Subscribe()
	defer cancel()
	first := <-ch
	if first.Step != enroll.StepWelcome {
		t.Fatalf("first view %s", first.Step)
	}
	// Nobody reads while the wizard runs several actions: it must not
	// block, and the mailbox then holds the newest view.
	ctx := context.Background()
	must(t)(m.Next(ctx))
	must(t)(m.SubmitSignIn(ctx, w.user, w.code))
	last := <-ch
	if last.Step != enroll.StepAuthenticator || last.Busy || last.Seq != m.View().Seq {
		t.Fatalf("mailbox holds %s busy=%v seq=%d, want the newest view (seq %d)", last.Step, last.Busy, last.Seq, m.View().Seq)
	}
}

func TestBusyRefusesSecondAction(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := w.machine(t)
	ctx := context.Background()
	must(t)(m.Next(ctx))
	ch, cancel := m.Subscribe()
	defer cancel()
	<-ch
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.SubmitSignIn(ctx, w.user, w.code)
	}()
	// Wait for the busy view, then try a second action.
	sawBusy := false
	for v := range ch {
		if v.Busy {
			sawBusy = true
			if _, err := m.SubmitSignIn(ctx, w.user, w.code); !errors.Is(err, enroll.ErrBusy) && !errors.Is(err, enroll.ErrNotNow) {
				t.Errorf("second SubmitSignIn while busy = %v", err)
			}
		}
		if !v.Busy && v.Step == enroll.StepAuthenticator {
			break
		}
	}
	<-done
	if !sawBusy {
		t.Log("busy view was skipped by the mailbox")
	}
}
