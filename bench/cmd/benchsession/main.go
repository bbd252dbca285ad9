// Command benchsession puts a running agent on the demo organisation into a
// session, through its local API only, as an employee would: it sets the
// device up in the wizard (the demo sign-in the profile carries, the
// authenticator code computed from the otpauth secret the wizard shows),
// then starts home office with the next code and waits for "Verbunden".
// bench/agent-idle.sh uses it to measure the agent during a session; it is
// not measured itself (it exits before the idle window).
//
//	benchsession -socket PATH
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

func main() {
	socket := flag.String("socket", "", "the agent's local API socket")
	timeout := flag.Duration("timeout", 90*time.Second, "give up after")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, localapi.NewClient(*socket)); err != nil {
		fmt.Fprintln(os.Stderr, "benchsession:", err)
		os.Exit(1)
	}
}

// poll calls f every 100 ms until it reports done or ctx ends.
func poll(ctx context.Context, what string, f func() (bool, error)) error {
	var last error
	for {
		ok, err := f()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func run(ctx context.Context, c *localapi.Client) error {
	var snap state.Snapshot
	if err := poll(ctx, "agent status", func() (bool, error) {
		var err error
		snap, err = c.Status(ctx)
		return err == nil, err
	}); err != nil {
		return err
	}
	if snap.DemoLogin == nil {
		return errors.New("the profile has no demo sign-in; run the agent on the demo organisation's profile")
	}
	do := func(act localapi.EnrollAction) (enroll.View, error) {
		v, err := c.Enroll(ctx, act)
		if err == nil && v.Error != nil {
			err = fmt.Errorf("wizard shows error %s %v", v.Error.Key, v.Error.Args)
		}
		if err != nil {
			return v, fmt.Errorf("wizard step %s: %w", act.Action, err)
		}
		return v, nil
	}
	steps := []localapi.EnrollAction{
		{Action: localapi.EnrollNext},
		{Action: localapi.EnrollSignIn, User: snap.DemoLogin.User, ActivationCode: snap.DemoLogin.ActivationCode},
		{Action: localapi.EnrollToggleSecret},
	}
	var v enroll.View
	var err error
	for _, act := range steps {
		if v, err = do(act); err != nil {
			return err
		}
	}
	uri, err := url.Parse(v.Authenticator.URI.Reveal())
	if err != nil || uri.Scheme != "otpauth" {
		return fmt.Errorf("the wizard shows no otpauth URI: %v", err)
	}
	secret := uri.Query().Get("secret")
	now := time.Now()
	code, err := authcodetest.Generate(secret, now)
	if err != nil {
		return err
	}
	if _, err = do(localapi.EnrollAction{Action: localapi.EnrollNext}); err != nil {
		return err
	}
	if v, err = do(localapi.EnrollAction{Action: localapi.EnrollCode, Code: code}); err != nil {
		return err
	}
	for i := 0; v.Step != enroll.StepDone; i++ {
		if i > 20 {
			return fmt.Errorf("the wizard did not finish; at step %s", v.Step)
		}
		if v, err = do(localapi.EnrollAction{Action: localapi.EnrollNext}); err != nil {
			return err
		}
	}
	// The current code went to the wizard; the portal takes one step ahead.
	next, err := authcodetest.Generate(secret, now.Add(authcode.Period))
	if err != nil {
		return err
	}
	if err := c.StartSession(ctx, next); err != nil {
		return fmt.Errorf("starting the session: %w", err)
	}
	return poll(ctx, "session never became connected", func() (bool, error) {
		s, err := c.Status(ctx)
		if err != nil {
			return false, err
		}
		return s.Session == state.Connected, fmt.Errorf("session %s", s.Session)
	})
}
