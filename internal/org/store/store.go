// Package store keeps the portal's state: users, activation codes,
// enrollments, devices, announcements and releases. Store is the one
// interface the portal server uses, so a PostgreSQL implementation can
// follow SQLite for large organisations.
package store

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

var (
	// ErrNotFound reports a missing row.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a uniqueness or state conflict, e.g. an existing
	// user name, a TOTP step already used or an activation code consumed
	// by a concurrent enrollment.
	ErrConflict = errors.New("conflict")
	// ErrDisabled reports a change refused because the user is disabled,
	// e.g. registering a device.
	ErrDisabled = errors.New("user is disabled")
)

// Store is the portal's storage. Implementations are safe for concurrent
// use by many goroutines. Times are stored with second precision.
type Store interface {
	AuditLog
	SecretRows
	ConsoleStore
	Reports
	Gateways

	// CreateUser adds a user; ErrConflict if the name exists.
	CreateUser(ctx context.Context, u User) error
	// User returns one user; ErrNotFound if unknown.
	User(ctx context.Context, name string) (User, error)
	// Users lists all users by name.
	Users(ctx context.Context) ([]User, error)
	// UpdateUser sets a user's display name, groups and source; the rest
	// (secret, devices, disabled) stays. ErrNotFound if unknown.
	UpdateUser(ctx context.Context, u User) error
	// DisableUser marks the user disabled at now and, in the same
	// transaction, revokes the user's devices (ending their sessions at
	// once) and deletes the user's enrollments, also confirmed ones whose
	// device could otherwise register again. It returns the IDs of the
	// devices it revoked. Disabling a disabled user changes nothing.
	// ErrNotFound if unknown.
	DisableUser(ctx context.Context, name string, now time.Time) ([]string, error)
	// EnableUser lifts the disabled mark; revoked devices stay revoked.
	// ErrNotFound if unknown.
	EnableUser(ctx context.Context, name string) error

	// SetActivationCode replaces the user's activation code and deletes
	// the user's pending enrollments: started with an older code, they
	// could never be confirmed, and their secrets would only linger.
	SetActivationCode(ctx context.Context, c ActivationCode) error
	// ActivationCode returns the user's current code; ErrNotFound if none.
	ActivationCode(ctx context.Context, user string) (ActivationCode, error)

	// PutEnrollment stores a new pending enrollment and removes the user's
	// other unconfirmed ones.
	PutEnrollment(ctx context.Context, e Enrollment) error
	// Enrollment returns the enrollment with this id hash; ErrNotFound if
	// unknown.
	Enrollment(ctx context.Context, idHash string) (Enrollment, error)
	// ConfirmEnrollment atomically marks the enrollment confirmed (now),
	// moves its expiry to registerBefore, makes its secret the user's TOTP
	// secret (and clears it in the enrollment, so only the user's row
	// holds it) and marks the activation code it was started with used.
	// ErrConflict if that code is no longer the user's unused code.
	ConfirmEnrollment(ctx context.Context, idHash string, now, registerBefore time.Time) error

	// UseTOTPStep records that the user's code of this time step was
	// accepted; ErrConflict if it already was. In the same transaction it
	// forgets the failures of subject (if not empty), also on ErrConflict:
	// whoever sent the code knew it. One write where a morning herd of
	// session authorisations queues for the single writer.
	UseTOTPStep(ctx context.Context, user string, step int64, now time.Time, subject string) error
	// AuthoriseSession is UseTOTPStep followed by SetAuthorisation of
	// deviceID until until, in one transaction: a portal that dies
	// between the two cannot spend the code without admitting the
	// device, and the morning herd queues for one write, not two.
	// ErrConflict if the step was used already (the failures of subject
	// are forgotten then too, nothing else changes); ErrNotFound if the
	// device is unknown or revoked (nothing changes).
	AuthoriseSession(ctx context.Context, user string, step int64, now time.Time, subject, deviceID string, until time.Time) error
	// AddFailure records a failed check for subject at time at and returns
	// how many failures subject has since since (this one included).
	// Subjects need not be existing users.
	AddFailure(ctx context.Context, subject string, at, since time.Time) (int, error)
	// ResetFailures forgets subject's failures.
	ResetFailures(ctx context.Context, subject string) error
	// SetLock locks subject until until.
	SetLock(ctx context.Context, subject string, until time.Time) error
	// LockedUntil returns when subject's lock ends, zero if never locked.
	LockedUntil(ctx context.Context, subject string) (time.Time, error)

	// TokenWait says how long until the token bucket key, which holds up
	// to burst tokens and regains one every interval, has a token; 0 if
	// it has one now. It takes nothing. Buckets live in the store so that
	// every portal instance on it shares them.
	TokenWait(ctx context.Context, key string, now time.Time, every time.Duration, burst int) (time.Duration, error)
	// TakeToken takes a token from key, going into debt if there is none,
	// so that requests that were let through together all pay.
	TakeToken(ctx context.Context, key string, now time.Time, every time.Duration) error

	// RegisterDevice stores a device for d.EnrollmentHash. A repeated
	// registration with the same enrollment replaces key, name and
	// credential and keeps the address; otherwise a new address is taken
	// from pool. ErrConflict if another active device has the public key;
	// ErrDisabled if the user is disabled.
	RegisterDevice(ctx context.Context, d Device, pool AddressPool) (Device, error)
	// DeviceByCredential finds the device whose credential hashes to
	// credHash, and its user, in one read: every authenticated call and
	// every announcement poll that misses the portal's cache asks.
	// ErrNotFound if none (revoked devices are returned with RevokedAt
	// set).
	DeviceByCredential(ctx context.Context, credHash string) (Device, User, error)
	// SetAuthorisation sets until when the device's peer is admitted; a
	// zero until ends the authorisation.
	SetAuthorisation(ctx context.Context, deviceID string, until, now time.Time) error
	// AuthorisedDevices lists unrevoked devices authorised beyond now.
	AuthorisedDevices(ctx context.Context, now time.Time) ([]Device, error)
	// Devices lists all devices.
	Devices(ctx context.Context) ([]Device, error)
	// DeviceByID returns one device (revoked ones too); ErrNotFound if
	// unknown.
	DeviceByID(ctx context.Context, id string) (Device, error)
	// DevicesOfUser lists the devices of one user, revoked ones too,
	// oldest first.
	DevicesOfUser(ctx context.Context, user string) ([]Device, error)
	// RevokeDevice disables a device for good.
	RevokeDevice(ctx context.Context, deviceID string, now time.Time) error

	// PutAnnouncement inserts or replaces the announcement with a.ID.
	PutAnnouncement(ctx context.Context, a Announcement) error
	// Announcement returns one announcement; ErrNotFound if unknown.
	Announcement(ctx context.Context, id string) (Announcement, error)
	// Announcements lists all announcements, including expired ones.
	Announcements(ctx context.Context) ([]Announcement, error)
	// Revision increases with every change to announcements, also changes
	// made by another process on the same database, so a server can cache.
	Revision(ctx context.Context) (int64, error)

	// PutRelease stores the current manifest of a channel.
	PutRelease(ctx context.Context, r Release) error
	// Release returns a channel's current manifest; ErrNotFound if none.
	Release(ctx context.Context, channel string) (Release, error)

	// Prune deletes expired enrollments, old TOTP steps, old failures,
	// full token buckets, expired console sessions and reports older
	// than KeepReports.
	Prune(ctx context.Context, now time.Time) error
	// Close releases the store.
	Close() error
}

// User is an employee who may enroll.
type User struct {
	Name        string
	DisplayName string
	// Groups decide which announcements the user sees.
	Groups    []string
	CreatedAt time.Time
	// TOTPSecret is the confirmed base32 secret, empty until enrolled.
	// Through Sealed it is clear text here and sealed in the database.
	TOTPSecret string
	EnrolledAt time.Time
	// Source says who manages the user: SourceManual (`user add`, also
	// when empty) or an import (SourceLDAP, SourceCSV), which changes
	// and disables only its own users.
	Source string
	// DisabledAt is when the user was disabled, zero while enabled. A
	// disabled user can neither enroll nor start a session.
	DisabledAt time.Time
}

// Sources of users.
const (
	SourceManual = "manual"
	SourceLDAP   = "ldap"
	SourceCSV    = "csv"
)

// Disabled reports whether the user is disabled.
func (u User) Disabled() bool { return !u.DisabledAt.IsZero() }

// ActivationCode is the code from IT's letter, stored only as a hash.
type ActivationCode struct {
	User      string
	Hash      string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is set once an enrollment with this code was confirmed.
	UsedAt time.Time
}

// Enrollment is a started (and maybe confirmed) enrollment. Its id is a
// bearer secret, so only its hash is stored.
type Enrollment struct {
	IDHash string
	User   string
	// Secret is the new base32 TOTP secret (sealed in the database, see
	// Sealed); empty once confirmed, when the user's row holds it.
	Secret string
	// CodeHash is the activation code hash it was started with.
	CodeHash    string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	ConfirmedAt time.Time
}

// Device is a registered laptop.
type Device struct {
	ID             string
	User           string
	Name           string
	PublicKey      string
	CredentialHash string
	EnrollmentHash string
	Address        netip.Addr
	CreatedAt      time.Time
	// AuthorisedUntil is the end of the current session, zero if none.
	AuthorisedUntil time.Time
	LastSeen        time.Time
	RevokedAt       time.Time
}

// AddressPool is where device tunnel addresses come from: First, First+1, …
// while inside Prefix.
type AddressPool struct {
	Prefix netip.Prefix
	First  netip.Addr
}

// Announcement is a message from IT.
type Announcement struct {
	ID                               string
	Severity                         string
	TitleDE, TitleEN, BodyDE, BodyEN string
	ValidFrom, ValidUntil            time.Time
	Audience                         []string
	UpdatedAt                        time.Time
}

// Release is the current signed manifest of an update channel.
type Release struct {
	Channel     string
	Manifest    []byte
	Signature   []byte
	PublishedAt time.Time
}
