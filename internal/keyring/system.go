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
// deadline. It is long because the call may wait for the user to type the
// keyring password into an unlock prompt.
const DefaultTimeout = 2 * time.Minute

// System is the operating system's keyring through
// github.com/zalando/go-keyring (Secret Service on Linux, Keychain on
// macOS, Credential Manager on Windows). The zero value uses [Service] and
// [DefaultTimeout]. It is safe for concurrent use.
//
// go-keyring's calls take no context and can block forever on an unlock
// prompt nobody answers; System runs each in a goroutine and gives up when
// the context or Timeout ends (reporting [ErrLocked]). The abandoned call
// finishes, or not, on its own.
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

// Get implements Store.
func (s *System) Get(ctx context.Context, account string) (string, error) {
	var v string
	err := s.run(ctx, "reading", account, func() error {
		var err error
		v, err = gokeyring.Get(s.service(), account)
		return err
	})
	if err != nil {
		return "", err
	}
	return v, nil
}

// Set implements Store. It reads the secret back, because go-keyring
// reports success when the user dismisses the prompt of a locked keyring
// even though nothing was stored.
func (s *System) Set(ctx context.Context, account, secret string) error {
	err := s.run(ctx, "writing", account, func() error {
		if err := gokeyring.Set(s.service(), account, secret); err != nil {
			return err
		}
		got, err := gokeyring.Get(s.service(), account)
		if errors.Is(err, gokeyring.ErrNotFound) || (err == nil && got != secret) {
			return errNotStored
		}
		return err
	})
	return err
}

// Delete implements Store.
func (s *System) Delete(ctx context.Context, account string) error {
	err := s.run(ctx, "deleting", account, func() error {
		return gokeyring.Delete(s.service(), account)
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// errNotStored: Set returned, but the item is not there.
var errNotStored = errors.New("the keyring did not keep the secret (prompt dismissed?)")

func (s *System) run(ctx context.Context, op, account string, f func() error) error {
	if err := validAccount(account); err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("keyring: %s %s: %w: %w", op, account, ErrLocked, err)
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("keyring: %s %s: %w", op, account, Classify(err))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("keyring: %s %s: no answer (unlock prompt?): %w: %w", op, account, ErrLocked, ctx.Err())
	}
}

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
