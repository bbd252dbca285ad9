// Package keyring keeps the device's secrets in the operating system's
// keyring (on Linux the Secret Service, e.g. gnome-keyring) and nowhere
// else: there is no file fallback, on purpose.
//
// Every secret is an item with the attributes
//
//	service  = de.dienstweg.client   ([Service])
//	username = <account>             (the attribute name is go-keyring's)
//
// so IT and the helpdesk can read one from outside with
//
//	secret-tool lookup service de.dienstweg.client username wireguard-private-key
//
// The accounts are listed as constants below ([AccountWireGuardKey], …);
// docs/keyring.md explains what each holds and how the setup wizard uses
// the pending accounts to make device registration all-or-nothing.
//
// Errors are classified for the user interface: [ErrNotFound] (no such
// item), [ErrUnavailable] (no Secret Service on the bus, no bus) and
// [ErrLocked] (the keyring is locked, an unlock prompt was dismissed, or
// nobody answered in time). Each needs different words for the employee,
// so they are distinct sentinels for errors.Is. A [Checker] tells which
// applies without touching a secret, and an [Unlocker] asks the person to
// unlock the keyring; the agent uses both so that a locked keyring never
// holds up its start.
package keyring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Service is the keyring service name of every Dienstweg secret.
const Service = "de.dienstweg.client"

// Accounts (the "username" attribute) under [Service].
const (
	// AccountWireGuardKey is the device's WireGuard private key (base64,
	// like `wg genkey`). It never leaves the device.
	AccountWireGuardKey = "wireguard-private-key"
	// AccountDeviceCredential is the bearer credential the portal issued
	// for this device.
	AccountDeviceCredential = "device-credential"
	// AccountPendingEnrollment is the enrollment id of a setup in
	// progress. It is a bearer secret for registering a device, so it
	// lives here and not in the wizard's progress file.
	AccountPendingEnrollment = "pending-enrollment"
	// AccountPendingWireGuardKey is the private key of a device
	// registration in progress. While it exists, the final accounts are
	// not yet replaced.
	AccountPendingWireGuardKey = "pending-wireguard-private-key"
	// AccountPendingDeviceCredential is the credential of a registration
	// that is being committed: once it exists, the pending key and it
	// are copied into the final accounts (roll forward), never dropped.
	AccountPendingDeviceCredential = "pending-device-credential"
)

// Accounts lists every account this package documents, for cleanup and
// for tests that look for stray secrets.
var Accounts = []string{
	AccountWireGuardKey,
	AccountDeviceCredential,
	AccountPendingEnrollment,
	AccountPendingWireGuardKey,
	AccountPendingDeviceCredential,
}

// Sentinel errors; test with errors.Is. Errors from a [Store] wrap exactly
// one of them (plus the underlying cause, if any).
var (
	// ErrNotFound: the account has no secret.
	ErrNotFound = errors.New("keyring: secret not found")
	// ErrUnavailable: there is no keyring to talk to (no Secret Service
	// on the session bus, no session bus, or it failed).
	ErrUnavailable = errors.New("keyring: not available")
	// ErrLocked: the keyring is there but locked (the System reports
	// that at once instead of waiting for an unlock prompt), or the user
	// refused or did not answer the unlock prompt.
	ErrLocked = errors.New("keyring: locked")
)

// Store holds secrets by account under one service. Implementations are
// safe for concurrent use. Get returns [ErrNotFound] for a missing
// account; Delete of a missing account succeeds. Every error wraps
// [ErrNotFound], [ErrUnavailable] or [ErrLocked], except [ErrEmptyAccount]
// (a programming error). A context that ends while the keyring has not
// answered (usually: an unlock prompt nobody answers) counts as locked.
//
// The interface lives here, beside its two implementations, rather than in
// the consumer (internal/enroll), because the agent's session code needs
// the same contract to read the keys; see docs/keyring.md.
type Store interface {
	Get(ctx context.Context, account string) (string, error)
	Set(ctx context.Context, account, secret string) error
	Delete(ctx context.Context, account string) error
}

// ErrEmptyAccount rejects an empty account, which go-keyring would turn
// into a search matching every item of the service.
var ErrEmptyAccount = errors.New("keyring: empty account")

func validAccount(account string) error {
	if strings.TrimSpace(account) == "" {
		return ErrEmptyAccount
	}
	return nil
}

// Mem is an in-memory Store for tests: same contract as the system
// keyring, plus fault injection with [Mem.Fail]. The zero value is ready.
type Mem struct {
	mu    sync.Mutex
	items map[string]string
	fail  error
}

// NewMem returns an empty in-memory store.
func NewMem() *Mem { return &Mem{} }

// Fail makes every following call return err (which should wrap
// ErrUnavailable or ErrLocked) until Fail(nil).
func (m *Mem) Fail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

// Get implements Store.
func (m *Mem) Get(ctx context.Context, account string) (string, error) {
	if err := m.check(ctx, account); err != nil {
		return "", fmt.Errorf("keyring: reading %s: %w", account, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.items[account]
	if !ok {
		return "", fmt.Errorf("keyring: reading %s: %w", account, ErrNotFound)
	}
	return v, nil
}

// Set implements Store.
func (m *Mem) Set(ctx context.Context, account, secret string) error {
	if err := m.check(ctx, account); err != nil {
		return fmt.Errorf("keyring: writing %s: %w", account, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items == nil {
		m.items = map[string]string{}
	}
	m.items[account] = secret
	return nil
}

// Delete implements Store.
func (m *Mem) Delete(ctx context.Context, account string) error {
	if err := m.check(ctx, account); err != nil {
		return fmt.Errorf("keyring: deleting %s: %w", account, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, account)
	return nil
}

// Status implements Checker: the error set with Fail, if any.
func (m *Mem) Status(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrLocked, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fail
}

// Snapshot returns a copy of all items, for tests.
func (m *Mem) Snapshot() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.items))
	for k, v := range m.items {
		out[k] = v
	}
	return out
}

func (m *Mem) check(ctx context.Context, account string) error {
	if err := validAccount(account); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrLocked, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fail
}
