package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

func (s *SQLite) UpdateUser(ctx context.Context, u User) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET display_name = ?, groups_json = ?, source = ? WHERE name = ?`,
		u.DisplayName, marshalList(u.Groups), userSource(u.Source), u.Name)
	if err != nil {
		return fmt.Errorf("updating user %q: %w", u.Name, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("user %q: %w", u.Name, ErrNotFound)
	}
	return nil
}

func (s *SQLite) DisableUser(ctx context.Context, name string, now time.Time) ([]string, error) {
	var revoked []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		revoked = nil // a retried fn starts afresh
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = ? WHERE name = ? AND disabled_at = 0`, unix(now), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE name = ?`, name).Scan(&one); err != nil {
				return notFound(err)
			}
		}
		rows, err := tx.QueryContext(ctx, `UPDATE devices SET revoked_at = ?, authorised_until = 0 WHERE user = ? AND revoked_at = 0 RETURNING id`, unix(now), name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			revoked = append(revoked, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		_, err = tx.ExecContext(ctx, `DELETE FROM enrollments WHERE user = ?`, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("disabling user %q: %w", name, err)
	}
	return sortedIDs(revoked), nil
}

func (s *SQLite) EnableUser(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET disabled_at = 0 WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("enabling user %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return nil
}
