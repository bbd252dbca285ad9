//go:build !linux

package keyring

import (
	"context"
	"errors"
	"fmt"

	gokeyring "github.com/zalando/go-keyring"
)

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
	return s.run(ctx, "writing", account, func() error {
		if err := gokeyring.Set(s.service(), account, secret); err != nil {
			return err
		}
		got, err := gokeyring.Get(s.service(), account)
		if errors.Is(err, gokeyring.ErrNotFound) || (err == nil && got != secret) {
			return errNotStored
		}
		return err
	})
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

// Status implements Checker. The Keychain and the Credential Manager
// cannot be asked without possibly prompting, so it reports usable.
func (s *System) Status(ctx context.Context) error { return ctx.Err() }

// Unlock implements Unlocker: the OS prompts by itself when a call needs
// it, so there is nothing to do.
func (s *System) Unlock(ctx context.Context) error { return ctx.Err() }

// run gives a go-keyring call, which takes no context and may wait for an
// OS prompt, the context and Timeout: it gives up when either ends
// (reporting [ErrLocked]). The abandoned call finishes, or not, on its
// own.
func (s *System) run(ctx context.Context, op, account string, f func() error) error {
	ctx, cancel, err := s.begin(ctx, op, account)
	if err != nil {
		return err
	}
	defer cancel()
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
