package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

func (s *Postgres) AppendAudit(ctx context.Context, events ...AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, e := range events {
		b.Queue(`INSERT INTO audit_log(at, actor, action, subject, details) VALUES($1,$2,$3,$4,$5)`,
			unix(e.At), e.Actor, e.Action, e.Subject, marshalDetails(e.Details))
	}
	// One batch is one implicit transaction: all of them or none.
	if err := s.batch(ctx, b); err != nil {
		return fmt.Errorf("appending to the audit log: %w", err)
	}
	return nil
}

func (s *Postgres) AuditEvents(ctx context.Context, after int64, since time.Time, limit int) ([]AuditEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, subject, details::text FROM audit_log
WHERE id > $1 AND at >= $2 ORDER BY id LIMIT $3`, after, unix(since), limit)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Subject, &details); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		e.At = fromUnix(at)
		_ = json.Unmarshal([]byte(details), &e.Details)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Postgres) StoredSecrets(ctx context.Context) ([]StoredSecret, error) {
	rows, err := s.pool.Query(ctx, `
SELECT 'user', name, name, totp_secret FROM users WHERE totp_secret != ''
UNION ALL
SELECT 'enrollment', id_hash, user_name, secret FROM enrollments WHERE secret != ''
UNION ALL
SELECT 'console', name, name, totp_secret FROM console_accounts WHERE totp_secret != ''`)
	if err != nil {
		return nil, fmt.Errorf("listing secrets: %w", err)
	}
	defer rows.Close()
	var out []StoredSecret
	for rows.Next() {
		var x StoredSecret
		if err := rows.Scan(&x.Kind, &x.Key, &x.User, &x.Value); err != nil {
			return nil, fmt.Errorf("listing secrets: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (s *Postgres) ReplaceSecret(ctx context.Context, x StoredSecret, value string) (bool, error) {
	var q string
	switch x.Kind {
	case SecretOfUser:
		q = `UPDATE users SET totp_secret = $1 WHERE name = $2 AND totp_secret = $3`
	case SecretOfEnrollment:
		q = `UPDATE enrollments SET secret = $1 WHERE id_hash = $2 AND secret = $3`
	case SecretOfConsole:
		q = `UPDATE console_accounts SET totp_secret = $1 WHERE name = $2 AND totp_secret = $3`
	default:
		return false, fmt.Errorf("replacing a secret: unknown kind %q", x.Kind)
	}
	ct, err := s.pool.Exec(ctx, q, value, x.Key, x.Value)
	if err != nil {
		return false, fmt.Errorf("replacing a secret: %w", err)
	}
	return ct.RowsAffected() == 1, nil
}

// Scrub rewrites the two tables that held secrets (VACUUM FULL copies
// only live rows into new files), so the old row versions with clear
// text leave the data files. The WAL segments keep them until PostgreSQL
// recycles them; docs/operations.md says so.
func (s *Postgres) Scrub(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `VACUUM FULL users, enrollments, console_accounts`); err != nil {
		return fmt.Errorf("scrubbing the database: %w", err)
	}
	return nil
}
