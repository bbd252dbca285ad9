package enroll_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
)

// TestResumeAfterKill drops the machine at each step without any cleanup
// and builds a new one from the same state directory and keyring, as a
// restarted program does.
func TestResumeAfterKill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// drive brings a fresh machine to the step to be killed at.
		drive    func(t *testing.T, w *world, m *enroll.Machine)
		wantStep enroll.Step
		notice   string
	}{
		{name: "welcome", drive: func(*testing.T, *world, *enroll.Machine) {}, wantStep: enroll.StepWelcome},
		{name: "sign_in", drive: func(t *testing.T, w *world, m *enroll.Machine) { must(t)(m.Next(ctx)) }, wantStep: enroll.StepSignIn},
		{name: "authenticator_signs_in_again", drive: func(t *testing.T, w *world, m *enroll.Machine) { w.toAuthenticator(t, m) },
			wantStep: enroll.StepSignIn, notice: "enroll.notice.sign_in_again"},
		{name: "confirm_continues", drive: func(t *testing.T, w *world, m *enroll.Machine) {
			w.toAuthenticator(t, m)
			must(t)(m.Next(ctx))
		}, wantStep: enroll.StepConfirm, notice: "enroll.notice.resume_confirm"},
		{name: "device", drive: func(t *testing.T, w *world, m *enroll.Machine) { w.toDevice(t, m) }, wantStep: enroll.StepDevice},
		{name: "test", drive: func(t *testing.T, w *world, m *enroll.Machine) {
			w.toDevice(t, m)
			must(t)(m.Next(ctx))
		}, wantStep: enroll.StepTest},
		{name: "done", drive: func(t *testing.T, w *world, m *enroll.Machine) {
			w.toDevice(t, m)
			must(t)(m.Next(ctx))
			must(t)(m.Next(ctx))
		}, wantStep: enroll.StepDone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			tc.drive(t, w, w.machine(t))
			m := w.machine(t) // the old one is simply dropped
			v := m.View()
			wantStep(t, v, tc.wantStep, enroll.PageStep)
			if tc.notice != "" {
				wantMsg(t, "notice", v.Notice, tc.notice)
			}
			if tc.wantStep != enroll.StepWelcome && tc.name != "sign_in" && v.User != w.user {
				t.Fatalf("user name not kept across the restart: %q", v.User)
			}
			w.finish(t, m)
		})
	}
}

// finish drives a resumed machine to Done and checks the device is whole.
func (w *world) finish(t *testing.T, m *enroll.Machine) {
	t.Helper()
	ctx := context.Background()
	for range 12 {
		v := m.View()
		if v.Page != enroll.PageStep {
			t.Fatalf("stuck at %s/%s: %v", v.Step, v.Page, v.Error)
		}
		switch v.Step {
		case enroll.StepDone:
			dev, err := enroll.LoadDevice(ctx, w.ks)
			if err != nil {
				t.Fatalf("LoadDevice after Done: %v", err)
			}
			w.checkDeviceMatchesPortal(t, dev)
			return
		case enroll.StepSignIn:
			// The activation code is spent only by a confirmation, so
			// signing in again works until then.
			v = must(t)(m.SubmitSignIn(ctx, w.user, w.code))
			if v.Step != enroll.StepAuthenticator {
				t.Fatalf("sign-in again: %s %v", v.Step, v.Error)
			}
		case enroll.StepAuthenticator:
			must(t)(m.ToggleSecret())
			w.secret = secretOfURI(t, m.View().Authenticator.URI.Reveal())
			must(t)(m.Next(ctx))
		case enroll.StepConfirm:
			w.nextStep()
			if v = must(t)(m.SubmitCode(ctx, w.totp(t, w.secret))); v.Error != nil {
				t.Fatalf("confirm: %v", v.Error)
			}
		default:
			must(t)(m.Next(ctx))
		}
	}
	t.Fatalf("did not reach Done: %+v", m.View())
}

// dyingKeyring passes calls to a Mem until its budget of writes is spent,
// then "dies": every later call fails, as if the process were killed just
// before that write. What the Mem holds is what survives the kill.
type dyingKeyring struct {
	mem    *keyring.Mem
	mu     sync.Mutex
	writes int // left
	died   bool
}

var errKilled = fmt.Errorf("killed: %w", keyring.ErrUnavailable)

func (d *dyingKeyring) alive(write bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.died {
		return false
	}
	if write {
		if d.writes == 0 {
			d.died = true
			return false
		}
		d.writes--
	}
	return true
}

func (d *dyingKeyring) Get(ctx context.Context, a string) (string, error) {
	if !d.alive(false) {
		return "", errKilled
	}
	return d.mem.Get(ctx, a)
}

func (d *dyingKeyring) Set(ctx context.Context, a, s string) error {
	if !d.alive(true) {
		return errKilled
	}
	return d.mem.Set(ctx, a, s)
}

func (d *dyingKeyring) Delete(ctx context.Context, a string) error {
	if !d.alive(true) {
		return errKilled
	}
	return d.mem.Delete(ctx, a)
}

// TestKillDuringDeviceStep kills the program before each keyring write of
// the device step, in a first setup and in a re-enrollment with an old
// device present. Right after the kill, the keyring must hold no device or
// a whole one; after resuming, the new device must be whole.
func TestKillDuringDeviceStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Writes of a clean device step: pending key, staged credential, two
	// final accounts, three deletions.
	const writes = 7
	for _, reenroll := range []bool{false, true} {
		for n := 0; n <= writes; n++ {
			t.Run(fmt.Sprintf("reenroll_%v_after_%d_writes", reenroll, n), func(t *testing.T) {
				t.Parallel()
				mem := keyring.NewMem()
				w := newWorld(t, withKeyring(mem))
				var old *enroll.Device
				if reenroll {
					w.finish(t, w.machine(t))
					old, _ = enroll.LoadDevice(ctx, mem)
					must(t)(w.machine(t).Restart(ctx))
					code, err := portalsrv.IssueActivationCode(ctx, w.env.Store, w.user, w.env.Clock.Now(), 0)
					if err != nil {
						t.Fatalf("IssueActivationCode: %v", err)
					}
					w.code = code
				}
				w.toDevice(t, w.machine(t))

				dying := &dyingKeyring{mem: mem, writes: n}
				w.ks = dying
				m := w.machine(t)
				v, err := m.Next(ctx)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if n < writes && v.Page != enroll.PageKeyring {
					t.Fatalf("dying keyring gave %s/%s", v.Step, v.Page)
				}

				// Right after the kill: nothing, the old device, or a whole one.
				dev, err := enroll.LoadDevice(ctx, mem)
				switch {
				case errors.Is(err, enroll.ErrNoDevice), errors.Is(err, enroll.ErrIncomplete):
					if reenroll && errors.Is(err, enroll.ErrNoDevice) {
						t.Fatalf("old device lost")
					}
				case err != nil:
					t.Fatalf("LoadDevice: %v", err)
				case old != nil && dev.PublicKey == old.PublicKey:
					if dev.Credential != old.Credential {
						t.Fatalf("old key with a new credential")
					}
				default:
					w.checkDeviceMatchesPortal(t, dev)
				}

				// Restart the program with a working keyring.
				w.ks = mem
				m = w.machine(t)
				w.finish(t, m)
				if snap := mem.Snapshot(); len(snap) != 2 {
					t.Fatalf("keyring holds %v after the setup, want the two final accounts", keysOf(snap))
				}
			})
		}
	}
}
