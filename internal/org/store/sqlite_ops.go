package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

func marshalDetails(d map[string]string) string {
	if len(d) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(d)
	return string(b)
}

func unmarshalDetails(s string) map[string]string {
	var d map[string]string
	_ = json.Unmarshal([]byte(s), &d)
	return d
}

func (s *SQLite) AppendAudit(ctx context.Context, events ...AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO audit_log(at, actor, action, subject, details_json) VALUES(?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range events {
			if _, err := st.ExecContext(ctx, unix(e.At), e.Actor, e.Action, e.Subject, marshalDetails(e.Details)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("appending to the audit log: %w", err)
	}
	return nil
}

func (s *SQLite) AuditEvents(ctx context.Context, after int64, since time.Time, limit int) ([]AuditEvent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, subject, details_json FROM audit_log
WHERE id > ? AND at >= ? ORDER BY id LIMIT ?`, after, unix(since), limit)
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
		e.At, e.Details = fromUnix(at), unmarshalDetails(details)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *SQLite) StoredSecrets(ctx context.Context) ([]StoredSecret, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT 'user', name, name, totp_secret FROM users WHERE totp_secret != ''
UNION ALL
SELECT 'enrollment', id_hash, user, secret FROM enrollments WHERE secret != ''
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

func (s *SQLite) ReplaceSecret(ctx context.Context, x StoredSecret, value string) (bool, error) {
	var q string
	switch x.Kind {
	case SecretOfUser:
		q = `UPDATE users SET totp_secret = ? WHERE name = ? AND totp_secret = ?`
	case SecretOfEnrollment:
		q = `UPDATE enrollments SET secret = ? WHERE id_hash = ? AND secret = ?`
	case SecretOfConsole:
		q = `UPDATE console_accounts SET totp_secret = ? WHERE name = ? AND totp_secret = ?`
	default:
		return false, fmt.Errorf("replacing a secret: unknown kind %q", x.Kind)
	}
	res, err := s.w.ExecContext(ctx, q, value, x.Key, x.Value)
	if err != nil {
		return false, fmt.Errorf("replacing a secret: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Scrub rebuilds the database file (VACUUM writes only live rows to fresh
// pages) and empties the WAL, which still holds the old page images.
func (s *SQLite) Scrub(ctx context.Context) error {
	for _, q := range []string{`PRAGMA wal_checkpoint(TRUNCATE)`, `VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("scrubbing the database (%s): %w", q, err)
		}
	}
	return nil
}
