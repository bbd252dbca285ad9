package store

import (
	"context"
	"time"
)

// AuditLog is the append-only record of who did what and when. It has no
// method to change or delete an entry; the SQL schemas refuse UPDATE and
// DELETE on the table with triggers as well, so a bug cannot either.
// Implementations are safe for concurrent use.
type AuditLog interface {
	// AppendAudit stores events in one transaction, in order; their IDs
	// are assigned by the store and increase.
	AppendAudit(ctx context.Context, events ...AuditEvent) error
	// AuditEvents returns up to limit events with an ID above after and a
	// time at or after since (zero: any), by ID.
	AuditEvents(ctx context.Context, after int64, since time.Time, limit int) ([]AuditEvent, error)
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	// ID is assigned by AppendAudit.
	ID int64
	At time.Time
	// Actor is who did it: "admin:OSUSER" for the command line,
	// "user:NAME" for an employee's device, "portal" for the portal itself.
	Actor string
	// Action is what happened, e.g. "session.authorise" (see docs/operations.md).
	Action string
	// Subject is what it happened to: a user name, device id or
	// announcement id.
	Subject string
	// Details are small facts worth keeping (source address, until, …).
	Details map[string]string
}

// SecretRows lets the sealing layer (Sealed, Reseal) reach every stored
// TOTP secret without knowing the schema. Implementations are safe for
// concurrent use.
type SecretRows interface {
	// StoredSecrets lists every non-empty TOTP secret as stored.
	StoredSecrets(ctx context.Context) ([]StoredSecret, error)
	// ReplaceSecret stores value instead of s.Value if the row still holds
	// s.Value; false if it changed (or went) meanwhile.
	ReplaceSecret(ctx context.Context, s StoredSecret, value string) (bool, error)
	// Scrub removes what overwritten or deleted rows leave behind in the
	// database's files (SQLite: free pages, the WAL), after clear-text
	// secrets were sealed.
	Scrub(ctx context.Context) error
}

// SecretKind says which row holds a secret.
type SecretKind string

const (
	SecretOfUser       SecretKind = "user"       // users.totp_secret, Key is the user name
	SecretOfEnrollment SecretKind = "enrollment" // enrollments.secret, Key is the id hash
	SecretOfConsole    SecretKind = "console"    // console_accounts.totp_secret, Key is the account name
)

// StoredSecret is one TOTP secret as stored.
type StoredSecret struct {
	Kind SecretKind
	Key  string
	// User owns the secret; sealing binds the value to it (for
	// SecretOfConsole the account name, see Owner).
	User  string
	Value string
}

// Owner is what sealing binds the secret to: the user, or for a console
// account a name no employee can have.
func (s StoredSecret) Owner() string {
	if s.Kind == SecretOfConsole {
		return consoleSecretOwner(s.User)
	}
	return s.User
}
