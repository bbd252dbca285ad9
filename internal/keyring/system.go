package keyring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
)

// DefaultTimeout bounds one keyring call when the context has no earlier
// deadline. On Linux no call waits for a person (a locked keyring is
// reported at once, see [System.Unlock]), so this only bounds a keyring
// that does not answer at all; elsewhere the OS may show its own prompt
// while the call waits.
const DefaultTimeout = 30 * time.Second

// ActivationTimeout bounds starting a Secret Service that the session bus
// can activate but that is not running yet. Without it a broken
// activation costs D-Bus's own 25 s before anything can be said.
const ActivationTimeout = 5 * time.Second

// System is the operating system's keyring: on Linux the Secret Service
// (gnome-keyring, KWallet, KeePassXC) spoken to directly over D-Bus, on
// macOS and Windows the Keychain and Credential Manager through
// github.com/zalando/go-keyring. The zero value uses [Service] and
// [DefaultTimeout]. It is safe for concurrent use.
//
// On Linux every call has a session-bus connection of its own, honours its
// context, and never waits for an unlock prompt: a locked keyring is
// [ErrLocked] at once, and [System.Unlock] asks the person to unlock it.
// Nothing here uses godbus's shared session connection, so no other user
// of it (or its closing) can break a call in flight.
type System struct {
	// Service overrides [Service]; tests use their own to stay apart.
	Service string
	// Timeout per call; 0 means DefaultTimeout.
	Timeout time.Duration
}

func (s *System) service() string {
	if s.Service == "" {
		return Service
	}
	return s.Service
}

func (s *System) timeout() time.Duration {
	if s.Timeout <= 0 {
		return DefaultTimeout
	}
	return s.Timeout
}

// begin checks account and bounds ctx by the timeout for one call; an
// ended context is ErrLocked, as the Store contract says.
func (s *System) begin(ctx context.Context, op, account string) (context.Context, context.CancelFunc, error) {
	if err := validAccount(account); err != nil {
		return ctx, func() {}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	if err := ctx.Err(); err != nil {
		cancel()
		return ctx, func() {}, fmt.Errorf("keyring: %s %s: %w: %w", op, account, ErrLocked, err)
	}
	return ctx, cancel, nil
}

// Checker is a Store that can tell quickly, without asking anybody,
// whether it can be used now: Status returns nil, or an error wrapping
// [ErrLocked] or [ErrUnavailable].
type Checker interface {
	Status(ctx context.Context) error
}

// Unlocker is a Store whose keyring the person can unlock: Unlock shows
// the desktop's unlock prompt and waits until the keyring is unlocked
// (nil), the prompt is dismissed ([ErrLocked]) or ctx ends (the prompt is
// withdrawn; [ErrLocked]).
type Unlocker interface {
	Unlock(ctx context.Context) error
}

var (
	_ Checker  = (*System)(nil)
	_ Unlocker = (*System)(nil)
)

// errNotStored: Set returned, but the item is not there.
var errNotStored = errors.New("the keyring did not keep the secret (prompt dismissed?)")

// D-Bus error names that mean "nobody provides the Secret Service".
var unavailableNames = map[string]bool{
	"org.freedesktop.DBus.Error.ServiceUnknown": true,
	"org.freedesktop.DBus.Error.NameHasNoOwner": true,
	"org.freedesktop.DBus.Error.NoReply":        true,
	"org.freedesktop.DBus.Error.Disconnected":   true,
	"org.freedesktop.DBus.Error.Spawn.Failed":   true,
	"org.freedesktop.DBus.Error.NoServer":       true,
}

// Classify maps an error of go-keyring (or of the D-Bus below it) to one
// of ErrNotFound, ErrUnavailable or ErrLocked, keeping the cause wrapped.
// Anything it does not recognise counts as unavailable: the user can do
// nothing more specific about it than retry or call the helpdesk.
func Classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrUnavailable), errors.Is(err, ErrLocked):
		return err
	case errors.Is(err, gokeyring.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, errNotStored):
		return fmt.Errorf("%w: %w", ErrLocked, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// No answer in time: usually somebody is being asked.
		return fmt.Errorf("no answer (unlock prompt?): %w: %w", ErrLocked, err)
	}
	name := ""
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case errors.As(err, &de):
		name = de.Name
	case errors.As(err, &dep) && dep != nil:
		name = dep.Name
	}
	switch {
	case name == "org.freedesktop.Secret.Error.IsLocked":
		return fmt.Errorf("%w: %w", ErrLocked, err)
	case unavailableNames[name]:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case strings.Contains(err.Error(), "failed to unlock correct collection"):
		// go-keyring's words when Unlock was refused or its prompt
		// dismissed.
		return fmt.Errorf("%w: %w", ErrLocked, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
