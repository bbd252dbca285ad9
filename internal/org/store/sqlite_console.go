package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *SQLite) CreateConsoleAccount(ctx context.Context, a ConsoleAccount) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO console_accounts(name, role, password_hash, totp_secret, created_at) VALUES(?,?,?,?,?)`,
		a.Name, a.Role, a.PasswordHash, a.TOTPSecret, unix(a.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("console account %q: %w", a.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating console account: %w", err)
	}
	return nil
}

func (s *SQLite) ConsoleAccount(ctx context.Context, name string) (ConsoleAccount, error) {
	a := ConsoleAccount{Name: name}
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT role, password_hash, totp_secret, created_at FROM console_accounts WHERE name = ?`, name).
		Scan(&a.Role, &a.PasswordHash, &a.TOTPSecret, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return ConsoleAccount{}, fmt.Errorf("console account %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return ConsoleAccount{}, fmt.Errorf("console account %q: %w", name, err)
	}
	a.CreatedAt = fromUnix(created)
	return a, nil
}

func (s *SQLite) PutConsoleSession(ctx context.Context, cs ConsoleSession) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO console_sessions(id_hash, account, created_at, expires_at) VALUES(?,?,?,?)`,
		cs.IDHash, cs.Account, unix(cs.CreatedAt), unix(cs.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing console session: %w", err)
	}
	return nil
}

func (s *SQLite) ConsoleSession(ctx context.Context, idHash string, now time.Time) (ConsoleSession, error) {
	cs := ConsoleSession{IDHash: idHash}
	var created, expires int64
	err := s.r.QueryRowContext(ctx, `SELECT account, created_at, expires_at FROM console_sessions WHERE id_hash = ? AND expires_at > ?`,
		idHash, unix(now)).Scan(&cs.Account, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ConsoleSession{}, fmt.Errorf("console session: %w", ErrNotFound)
	}
	if err != nil {
		return ConsoleSession{}, fmt.Errorf("console session: %w", err)
	}
	cs.CreatedAt, cs.ExpiresAt = fromUnix(created), fromUnix(expires)
	return cs, nil
}

func (s *SQLite) DeleteConsoleSession(ctx context.Context, idHash string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("ending console session: %w", err)
	}
	return nil
}
