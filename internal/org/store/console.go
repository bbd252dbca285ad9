package store

import (
	"context"
	"time"
)

// ConsoleStore keeps the web console's accounts and sessions. Console
// accounts (IT, helpdesk) are separate from employees: they never enroll
// a device, and an employee's name means nothing here. Implementations
// are safe for concurrent use.
type ConsoleStore interface {
	// CreateConsoleAccount adds an account; ErrConflict if the name exists.
	CreateConsoleAccount(ctx context.Context, a ConsoleAccount) error
	// ConsoleAccount returns one account; ErrNotFound if unknown.
	ConsoleAccount(ctx context.Context, name string) (ConsoleAccount, error)
	// PutConsoleSession stores a new signed-in session.
	PutConsoleSession(ctx context.Context, s ConsoleSession) error
	// ConsoleSession returns the session with this id hash if it has not
	// expired at now; ErrNotFound otherwise.
	ConsoleSession(ctx context.Context, idHash string, now time.Time) (ConsoleSession, error)
	// DeleteConsoleSession ends a session (signing out); no error if it
	// is already gone.
	DeleteConsoleSession(ctx context.Context, idHash string) error
}

// Console roles.
const (
	RoleIT       = "it"
	RoleHelpdesk = "helpdesk"
)

// ConsoleAccount is a person of IT or the helpdesk who signs in to the
// web console.
type ConsoleAccount struct {
	Name string
	// Role is RoleIT or RoleHelpdesk.
	Role string
	// PasswordHash is an argon2id hash in PHC format.
	PasswordHash string
	// TOTPSecret is the base32 secret of the account's authenticator app;
	// through Sealed it is clear text here and sealed in the database.
	TOTPSecret string
	CreatedAt  time.Time
}

// ConsoleSession is a signed-in browser. Its id is a bearer secret (the
// cookie), so only its hash is stored.
type ConsoleSession struct {
	IDHash    string
	Account   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// consoleSecretOwner is who a console account's sealed secret is bound
// to. User names cannot hold control characters, so no employee's secret
// can be swapped in.
func consoleSecretOwner(name string) string { return "console\x00" + name }
