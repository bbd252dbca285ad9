package store

import (
	"context"
	"errors"
	"fmt"
)

// Sealer encrypts secrets at rest; *sealing.Keyring is one. It is an
// interface here so the store needs no key handling of its own.
// Implementations are safe for concurrent use.
type Sealer interface {
	// Seal encrypts plain bound to aad.
	Seal(plain, aad []byte) (string, error)
	// Open decrypts a value made by Seal with the same aad.
	Open(sealed string, aad []byte) ([]byte, error)
	// Current is the id of the key Seal uses.
	Current() uint32
	// KeyID tells the key a value was sealed with; false if v is not a
	// sealed value (e.g. clear text written by an older version).
	KeyID(v string) (uint32, bool)
}

// Sealed returns st with every TOTP secret sealed by s on its way into the
// database and opened on its way out: the one place where secrets change
// form, for every Store implementation. Values are bound to their user,
// so ConfirmEnrollment can copy an enrollment's sealed secret to the
// user's row as it is. Reseal (run it once after opening) seals rows
// written in clear text by older versions.
func Sealed(st Store, s Sealer) Store {
	return &sealedStore{Store: st, s: s}
}

type sealedStore struct {
	Store
	s Sealer
}

// ErrNotSealed reports a secret stored in clear text, which Reseal has
// not yet sealed.
var ErrNotSealed = errors.New("secret is stored in clear text; run the migration (reopen the store)")

func secretAAD(user string) []byte { return []byte("dienstweg totp secret of " + user) }

func (ss *sealedStore) seal(user, plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	v, err := ss.s.Seal([]byte(plain), secretAAD(user))
	if err != nil {
		return "", fmt.Errorf("sealing the secret of %q: %w", user, err)
	}
	return v, nil
}

func (ss *sealedStore) open(user, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if _, ok := ss.s.KeyID(v); !ok {
		return "", fmt.Errorf("secret of %q: %w", user, ErrNotSealed)
	}
	p, err := ss.s.Open(v, secretAAD(user))
	if err != nil {
		return "", fmt.Errorf("secret of %q: %w", user, err)
	}
	return string(p), nil
}

func (ss *sealedStore) CreateUser(ctx context.Context, u User) error {
	var err error
	if u.TOTPSecret, err = ss.seal(u.Name, u.TOTPSecret); err != nil {
		return err
	}
	return ss.Store.CreateUser(ctx, u)
}

func (ss *sealedStore) User(ctx context.Context, name string) (User, error) {
	u, err := ss.Store.User(ctx, name)
	if err != nil {
		return User{}, err
	}
	if u.TOTPSecret, err = ss.open(u.Name, u.TOTPSecret); err != nil {
		return User{}, err
	}
	return u, nil
}

func (ss *sealedStore) Users(ctx context.Context) ([]User, error) {
	us, err := ss.Store.Users(ctx)
	if err != nil {
		return nil, err
	}
	for i := range us {
		if us[i].TOTPSecret, err = ss.open(us[i].Name, us[i].TOTPSecret); err != nil {
			return nil, err
		}
	}
	return us, nil
}

func (ss *sealedStore) PutEnrollment(ctx context.Context, e Enrollment) error {
	var err error
	if e.Secret, err = ss.seal(e.User, e.Secret); err != nil {
		return err
	}
	return ss.Store.PutEnrollment(ctx, e)
}

func (ss *sealedStore) Enrollment(ctx context.Context, idHash string) (Enrollment, error) {
	e, err := ss.Store.Enrollment(ctx, idHash)
	if err != nil {
		return Enrollment{}, err
	}
	if e.Secret, err = ss.open(e.User, e.Secret); err != nil {
		return Enrollment{}, err
	}
	return e, nil
}

func (ss *sealedStore) CreateConsoleAccount(ctx context.Context, a ConsoleAccount) error {
	var err error
	if a.TOTPSecret, err = ss.seal(consoleSecretOwner(a.Name), a.TOTPSecret); err != nil {
		return err
	}
	return ss.Store.CreateConsoleAccount(ctx, a)
}

func (ss *sealedStore) ConsoleAccount(ctx context.Context, name string) (ConsoleAccount, error) {
	a, err := ss.Store.ConsoleAccount(ctx, name)
	if err != nil {
		return ConsoleAccount{}, err
	}
	if a.TOTPSecret, err = ss.open(consoleSecretOwner(a.Name), a.TOTPSecret); err != nil {
		return ConsoleAccount{}, err
	}
	return a, nil
}

// Reseal seals every secret stored in clear text (written by a version
// before sealing) and re-seals those sealed with another key than the
// current one, then scrubs the database files if any clear text was found.
// It returns how many rows it changed. Run it after opening a store (it
// is quick when there is nothing to do) and after adding a key.
func Reseal(ctx context.Context, st Store, s Sealer) (int, error) {
	rows, err := st.StoredSecrets(ctx)
	if err != nil {
		return 0, err
	}
	cur := s.Current()
	n, clear := 0, false
	for _, r := range rows {
		plain := []byte(r.Value)
		if id, ok := s.KeyID(r.Value); ok {
			if id == cur {
				continue
			}
			if plain, err = s.Open(r.Value, secretAAD(r.Owner())); err != nil {
				return n, fmt.Errorf("re-sealing the %s secret of %q: %w", r.Kind, r.User, err)
			}
		} else {
			clear = true
		}
		v, err := s.Seal(plain, secretAAD(r.Owner()))
		if err != nil {
			return n, err
		}
		// A row changed meanwhile was written sealed by a running portal.
		ok, err := st.ReplaceSecret(ctx, r, v)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	if clear {
		if err := st.Scrub(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// SealWith seals what st still holds in clear text or under an old key
// (Reseal) and returns st sealed by s (Sealed).
func SealWith(ctx context.Context, st Store, s Sealer) (Store, error) {
	if _, err := Reseal(ctx, st, s); err != nil {
		return nil, fmt.Errorf("sealing stored secrets: %w", err)
	}
	return Sealed(st, s), nil
}
