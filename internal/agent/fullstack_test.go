package agent

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/cli"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The whole first day and the first morning, through the local API only,
// against the real demo organisation (portal over HTTPS with SQLite,
// gateway with the intranet behind it): set up the device in the wizard,
// then start home office with a code and end it again.
func TestFirstDayAndFirstMorning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	org, prof := startDemoOrg(t, ctx)
	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: t.TempDir(), UIExe: uiBinary},
		Deps:         Deps{Keyring: keyring.NewMem()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)

	// The first day: the wizard, step by step, as the window drives it.
	var v enroll.View
	for i := 0; ; i++ {
		if v, err = c.EnrollView(ctx); err == nil || i > 100 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || v.Step != enroll.StepWelcome {
		t.Fatalf("wizard at start = %s, %v", v.Step, err)
	}
	do := func(act localapi.EnrollAction) enroll.View {
		t.Helper()
		v, err := c.Enroll(ctx, act)
		if err != nil {
			t.Fatalf("Enroll(%s): %v", act.Action, err)
		}
		if v.Error != nil {
			t.Fatalf("Enroll(%s): wizard shows error %s %v", act.Action, v.Error.Key, v.Error.Args)
		}
		return v
	}
	do(localapi.EnrollAction{Action: localapi.EnrollNext})
	// The sign-in comes from the profile's demo section, as the wizard
	// shows it.
	snap := a.Snapshot()
	if !snap.Demo || snap.DemoLogin == nil || snap.DemoLogin.User != org.Users[0].Name {
		t.Fatalf("snapshot in demo mode: demo %v, sign-in %+v", snap.Demo, snap.DemoLogin)
	}
	v = do(localapi.EnrollAction{Action: localapi.EnrollSignIn, User: snap.DemoLogin.User, ActivationCode: snap.DemoLogin.ActivationCode})
	if v.Step != enroll.StepAuthenticator || !v.Authenticator.Hidden || v.Authenticator.URI != "" {
		t.Fatalf("authenticator step must start hidden: %+v", v.Authenticator)
	}

	// Safe mode keeps the secret hidden even when asked to show it.
	if err := c.SetSafeMode(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enroll(ctx, localapi.EnrollAction{Action: localapi.EnrollToggleSecret}); !isAPIError(err, "safe_mode") {
		t.Fatalf("toggle in safe mode = %v, want safe_mode", err)
	}
	if v, err := c.EnrollView(ctx); err != nil || !v.Authenticator.Hidden || v.Authenticator.URI != "" || v.Authenticator.ManualKey != "" {
		t.Fatalf("view in safe mode shows the secret: %v", err)
	}
	if err := c.SetSafeMode(ctx, false); err != nil {
		t.Fatal(err)
	}
	v = do(localapi.EnrollAction{Action: localapi.EnrollToggleSecret})
	uri, err := url.Parse(v.Authenticator.URI.Reveal())
	if err != nil || uri.Scheme != "otpauth" {
		t.Fatalf("otpauth URI: %v", err)
	}
	secret := uri.Query().Get("secret")
	code := authcodetest.Code(t, secret, time.Now())
	do(localapi.EnrollAction{Action: localapi.EnrollNext})
	v = do(localapi.EnrollAction{Action: localapi.EnrollCode, Code: code})
	if v.Step != enroll.StepDevice {
		t.Fatalf("after the code: step %s", v.Step)
	}
	do(localapi.EnrollAction{Action: localapi.EnrollNext}) // register
	for v.Step != enroll.StepDone {
		v = do(localapi.EnrollAction{Action: localapi.EnrollNext})
	}
	if st := a.Snapshot(); !st.Enrollment.Enrolled || st.Enrollment.User != org.Users[0].Name {
		t.Errorf("state after the wizard: %+v", st.Enrollment)
	}

	// The first morning: `dienstweg up` with the next code (the current
	// one was spent on the wizard; the portal accepts one step ahead).
	next := authcodetest.Code(t, secret, time.Now().Add(authcode.Period))
	var out bytes.Buffer
	if rc := cli.Up(ctx, c, "", strings.NewReader(next[:3]+" "+next[3:]+"\n"), cli.Options{Lang: "de", Out: &out, Err: &out}); rc != cli.ExitOK {
		t.Fatalf("dienstweg up: exit %d: %s", rc, out.String())
	}
	waitSession(t, ctx, c, state.Connected)
	// The health chain runs through the tunnel once it is up.
	for {
		s, err := c.Status(ctx)
		if err == nil && linkOK(s.Health, "gateway") && linkOK(s.Health, "office_dns") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("health chain never showed gateway and office DNS working: %+v", s.Health.Links)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !strings.Contains(out.String(), "Zustand:") {
		t.Errorf("up printed %q", out.String())
	}
	out.Reset()
	if rc := cli.Down(ctx, c, cli.Options{Lang: "de", Out: &out, Err: &out}); rc != cli.ExitOK {
		t.Fatalf("dienstweg down: exit %d: %s", rc, out.String())
	}
	waitSession(t, ctx, c, state.NotConnected)

	// A wrong code is refused in plain words and leaves no tunnel.
	out.Reset()
	if rc := cli.Up(ctx, c, "000000", os.Stdin, cli.Options{Lang: "de", Out: &out, Err: &out}); rc != cli.ExitError {
		t.Fatalf("up with a wrong code: exit %d: %s", rc, out.String())
	}
	if !strings.Contains(out.String(), "Bestätigungscode stimmt nicht") {
		t.Errorf("wrong code message: %q", out.String())
	}
}

func waitSession(tb testing.TB, ctx context.Context, c *localapi.Client, want state.Session) {
	tb.Helper()
	var last state.Snapshot
	for {
		s, err := c.Status(ctx)
		if err == nil && s.Session == want {
			return
		}
		last = s
		select {
		case <-ctx.Done():
			tb.Fatalf("session never became %s; last %s %+v", want, last.Session, last.Detail)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func linkOK(h state.Health, code string) bool {
	for _, l := range h.Links {
		if l.Code == code {
			return l.OK
		}
	}
	return false
}
