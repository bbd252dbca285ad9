package enroll

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// Errors of LoadDevice.
var (
	// ErrNoDevice: this computer is not set up (or its keys are gone).
	ErrNoDevice = errors.New("enroll: this computer is not set up")
	// ErrIncomplete: a device registration was interrupted while being
	// committed; the wizard (New) finishes it.
	ErrIncomplete = errors.New("enroll: device setup is incomplete")
)

// Device is this computer's registration, read from the keyring.
type Device struct {
	PrivateKey Secret
	// PublicKey is derived from PrivateKey.
	PublicKey  string
	Credential Secret
}

// LoadDevice reads the device from the keyring. It returns ErrNoDevice or
// ErrIncomplete when there is no complete device, and a keyring error
// (keyring.ErrUnavailable, keyring.ErrLocked) when it cannot tell. It never
// returns a key of one registration with the credential of another
// (docs/keyring.md).
func LoadDevice(ctx context.Context, ks keyring.Store) (*Device, error) {
	_, err := ks.Get(ctx, keyring.AccountPendingDeviceCredential)
	switch {
	case err == nil:
		return nil, ErrIncomplete
	case !errors.Is(err, keyring.ErrNotFound):
		return nil, err
	}
	priv, err := ks.Get(ctx, keyring.AccountWireGuardKey)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, ErrNoDevice
	}
	if err != nil {
		return nil, err
	}
	cred, err := ks.Get(ctx, keyring.AccountDeviceCredential)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, ErrNoDevice
	}
	if err != nil {
		return nil, err
	}
	pub, err := publicKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: stored key: %w", ErrNoDevice, err)
	}
	return &Device{PrivateKey: Secret(priv), PublicKey: pub, Credential: Secret(cred)}, nil
}

// errEnrollmentLost: the keyring no longer has the enrollment id, so the
// registration cannot be done or repeated; the user starts over.
var errEnrollmentLost = errors.New("enroll: enrollment id not in the keyring")

// registration is the outcome of registerDevice.
type registration struct {
	dev      *Device
	deviceID string
}

// registerDevice runs the all-or-nothing device registration of
// docs/keyring.md. Every step may be repeated after a crash or an error.
// Errors are keyring errors, portal errors or errEnrollmentLost.
func registerDevice(ctx context.Context, ks keyring.Store, p Portal, rand io.Reader, enrollmentID, name string) (*registration, error) {
	// A staged credential is decided: roll it forward without the portal.
	if done, err := rollForward(ctx, ks); err != nil || done {
		if err != nil {
			return nil, err
		}
		dev, err := LoadDevice(ctx, ks)
		if err != nil {
			return nil, err
		}
		return &registration{dev: dev}, nil
	}
	if enrollmentID == "" {
		id, err := ks.Get(ctx, keyring.AccountPendingEnrollment)
		if errors.Is(err, keyring.ErrNotFound) {
			return nil, errEnrollmentLost
		}
		if err != nil {
			return nil, err
		}
		enrollmentID = id
	}
	var reg *portal.Registration
	for attempt := 0; ; attempt++ {
		priv, err := pendingKey(ctx, ks, rand)
		if err != nil {
			return nil, err
		}
		pub, err := publicKey(priv)
		if err != nil {
			return nil, err
		}
		reg, err = p.RegisterDevice(ctx, enrollmentID, pub, name)
		if errors.Is(err, portal.ErrPublicKeyInUse) && attempt == 0 {
			// Another device has this key (an abandoned setup's): make a
			// new one. Nothing final was written yet.
			if err := ks.Delete(ctx, keyring.AccountPendingWireGuardKey); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if err := ks.Set(ctx, keyring.AccountPendingDeviceCredential, reg.Credential); err != nil {
		return nil, err
	}
	if _, err := rollForward(ctx, ks); err != nil {
		return nil, err
	}
	dev, err := LoadDevice(ctx, ks)
	if err != nil {
		return nil, err
	}
	return &registration{dev: dev, deviceID: reg.DeviceID}, nil
}

// pendingKey returns the pending private key, making and storing one if
// there is none.
func pendingKey(ctx context.Context, ks keyring.Store, rand io.Reader) (string, error) {
	priv, err := ks.Get(ctx, keyring.AccountPendingWireGuardKey)
	if err == nil {
		if _, perr := publicKey(priv); perr == nil {
			return priv, nil
		}
	} else if !errors.Is(err, keyring.ErrNotFound) {
		return "", err
	}
	priv, _, err = newKeyPair(rand)
	if err != nil {
		return "", err
	}
	if err := ks.Set(ctx, keyring.AccountPendingWireGuardKey, priv); err != nil {
		return "", err
	}
	return priv, nil
}

// rollForward commits a staged registration (steps 4 and 5 of
// docs/keyring.md) and reports whether there was one. Without a staged
// credential it changes nothing.
func rollForward(ctx context.Context, ks keyring.Store) (bool, error) {
	cred, err := ks.Get(ctx, keyring.AccountPendingDeviceCredential)
	if errors.Is(err, keyring.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	priv, err := ks.Get(ctx, keyring.AccountPendingWireGuardKey)
	if err != nil {
		// The pending key is deleted only after the staged credential, so
		// this is a keyring failure, not a missing key; a missing key
		// would mean someone edited the keyring, and then the staged
		// credential is useless.
		if errors.Is(err, keyring.ErrNotFound) {
			return false, ks.Delete(ctx, keyring.AccountPendingDeviceCredential)
		}
		return false, err
	}
	for _, w := range []struct{ account, value string }{
		{keyring.AccountDeviceCredential, cred},
		{keyring.AccountWireGuardKey, priv},
	} {
		if err := ks.Set(ctx, w.account, w.value); err != nil {
			return false, err
		}
	}
	// The commit point: from here, readers trust the final accounts.
	for _, a := range []string{keyring.AccountPendingDeviceCredential, keyring.AccountPendingWireGuardKey, keyring.AccountPendingEnrollment} {
		if err := ks.Delete(ctx, a); err != nil {
			return true, err
		}
	}
	return true, nil
}
