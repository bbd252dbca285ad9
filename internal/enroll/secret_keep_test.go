package enroll_test

import (
	"context"
	"testing"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// Back from the authenticator step and forward again shows the QR code
// the person may already have scanned: its codes still confirm.
func TestBackKeepsSecret(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := w.machine(t)
	ctx := context.Background()
	_, first := w.toAuthenticator(t, m)
	wantStep(t, must(t)(m.Back()), enroll.StepSignIn, enroll.PageStep)
	v := must(t)(m.SubmitSignIn(ctx, w.user, w.code))
	wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
	if v.Notice != nil {
		t.Errorf("notice %v, though the QR code did not change", v.Notice)
	}
	v = must(t)(m.ToggleSecret())
	if got := secretOfURI(t, v.Authenticator.URI.Reveal()); got != first {
		t.Fatal("back and forward made a new secret; the scanned entry is stale")
	}
	must(t)(m.Next(ctx))
	wantStep(t, must(t)(m.SubmitCode(ctx, w.totp(t, first))), enroll.StepDevice, enroll.PageStep)
}

// A new QR code only on request, and the view says the old entry is void.
func TestNewSecretOnRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := w.machine(t)
	ctx := context.Background()
	v, first := w.toAuthenticator(t, m)
	if !v.CanNewSecret {
		t.Fatal("no way to ask for a new QR code")
	}
	v = must(t)(m.NewSecret(ctx))
	wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
	wantMsg(t, "notice", v.Notice, "enroll.notice.new_secret")
	second := secretOfURI(t, v.Authenticator.URI.Reveal())
	if second == first {
		t.Fatal("NewSecret kept the old secret")
	}
	must(t)(m.Next(ctx))
	v = must(t)(m.SubmitCode(ctx, w.totp(t, first)))
	if v.Step != enroll.StepConfirm || v.Error == nil {
		t.Fatalf("the replaced secret's code was accepted: %s %v", v.Step, v.Error)
	}
	w.nextStep()
	wantStep(t, must(t)(m.SubmitCode(ctx, w.totp(t, second))), enroll.StepDevice, enroll.PageStep)

	// Other inputs on the sign-in page are a new sign-in: a new secret,
	// and the notice says so.
	w2 := newWorld(t)
	m2 := w2.machine(t)
	_, s1 := w2.toAuthenticator(t, m2)
	must(t)(m2.Back())
	code2, err := portalsrv.IssueActivationCode(ctx, w2.env.Store, w2.user, w2.env.Clock.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	v = must(t)(m2.SubmitSignIn(ctx, w2.user, code2))
	wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
	wantMsg(t, "notice", v.Notice, "enroll.notice.new_secret")
	v = must(t)(m2.ToggleSecret())
	if secretOfURI(t, v.Authenticator.URI.Reveal()) == s1 {
		t.Fatal("a new activation code kept the old secret")
	}
}

// Wrong home-office codes lock the session codes only: setting up again
// with a new activation code still works (issue 15).
func TestSessionLockLeavesActivation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m := w.machine(t)
	ctx := context.Background()
	w.toDevice(t, m)
	wantStep(t, must(t)(m.Next(ctx)), enroll.StepTest, enroll.PageStep)

	dev, err := enroll.LoadDevice(ctx, w.ks)
	if err != nil {
		t.Fatalf("LoadDevice: %v", err)
	}
	c := w.env.Client(t, func(c *portal.Config) { c.Retry.MaxAttempts = 1 })
	c.SetCredential(dev.Credential.Reveal())
	locked := false
	for i := 0; i < 10 && !locked; i++ {
		_, err := c.AuthoriseSession(ctx, "000000")
		locked = portal.KindOf(err) == portal.KindLocked
	}
	if !locked {
		t.Fatal("wrong home-office codes never locked")
	}

	must(t)(m.Restart(ctx))
	code, err := portalsrv.IssueActivationCode(ctx, w.env.Store, w.user, w.env.Clock.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	must(t)(m.Next(ctx))
	v := must(t)(m.SubmitSignIn(ctx, w.user, code))
	wantStep(t, v, enroll.StepAuthenticator, enroll.PageStep)
}
