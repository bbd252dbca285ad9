package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

func (s *Postgres) CreateConsoleAccount(ctx context.Context, a ConsoleAccount) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO console_accounts(name, role, password_hash, totp_secret, created_at) VALUES($1,$2,$3,$4,$5)`,
		a.Name, a.Role, a.PasswordHash, a.TOTPSecret, unix(a.CreatedAt))
	if pgUnique(err) {
		return fmt.Errorf("console account %q: %w", a.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating console account: %w", err)
	}
	return nil
}

func (s *Postgres) ConsoleAccount(ctx context.Context, name string) (ConsoleAccount, error) {
	a := ConsoleAccount{Name: name}
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT role, password_hash, totp_secret, created_at FROM console_accounts WHERE name = $1`, name).
		Scan(&a.Role, &a.PasswordHash, &a.TOTPSecret, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return ConsoleAccount{}, fmt.Errorf("console account %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return ConsoleAccount{}, fmt.Errorf("console account %q: %w", name, err)
	}
	a.CreatedAt = fromUnix(created)
	return a, nil
}

func (s *Postgres) PutConsoleSession(ctx context.Context, cs ConsoleSession) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO console_sessions(id_hash, account, created_at, expires_at) VALUES($1,$2,$3,$4)`,
		cs.IDHash, cs.Account, unix(cs.CreatedAt), unix(cs.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing console session: %w", err)
	}
	return nil
}

func (s *Postgres) ConsoleSession(ctx context.Context, idHash string, now time.Time) (ConsoleSession, error) {
	cs := ConsoleSession{IDHash: idHash}
	var created, expires int64
	err := s.pool.QueryRow(ctx, `SELECT account, created_at, expires_at FROM console_sessions WHERE id_hash = $1 AND expires_at > $2`,
		idHash, unix(now)).Scan(&cs.Account, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return ConsoleSession{}, fmt.Errorf("console session: %w", ErrNotFound)
	}
	if err != nil {
		return ConsoleSession{}, fmt.Errorf("console session: %w", err)
	}
	cs.CreatedAt, cs.ExpiresAt = fromUnix(created), fromUnix(expires)
	return cs, nil
}

func (s *Postgres) DeleteConsoleSession(ctx context.Context, idHash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("ending console session: %w", err)
	}
	return nil
}
