package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

func (s *Postgres) UpdateUser(ctx context.Context, u User) error {
	ct, err := s.pool.Exec(ctx, `UPDATE users SET display_name = $1, groups = $2, source = $3 WHERE name = $4`,
		u.DisplayName, nonNil(u.Groups), userSource(u.Source), u.Name)
	if err != nil {
		return fmt.Errorf("updating user %q: %w", u.Name, err)
	}
	if ct.RowsAffected() != 1 {
		return fmt.Errorf("user %q: %w", u.Name, ErrNotFound)
	}
	return nil
}

func (s *Postgres) DisableUser(ctx context.Context, name string, now time.Time) ([]string, error) {
	var revoked []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The user's row first, in the lock order of PutEnrollment and
		// ConfirmEnrollment, so a confirmation cannot slip in between.
		var disabled int64
		if err := tx.QueryRow(ctx, `SELECT disabled_at FROM users WHERE name = $1 FOR NO KEY UPDATE`, name).Scan(&disabled); err != nil {
			return pgNotFound(err)
		}
		if disabled == 0 {
			if _, err := tx.Exec(ctx, `UPDATE users SET disabled_at = $1 WHERE name = $2`, unix(now), name); err != nil {
				return err
			}
		}
		rows, _ := tx.Query(ctx, `UPDATE devices SET revoked_at = $1, authorised_until = 0 WHERE user_name = $2 AND revoked_at = 0 RETURNING id`, unix(now), name)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		revoked = ids
		_, err = tx.Exec(ctx, `DELETE FROM enrollments WHERE user_name = $1`, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("disabling user %q: %w", name, err)
	}
	return sortedIDs(revoked), nil
}

func (s *Postgres) EnableUser(ctx context.Context, name string) error {
	ct, err := s.pool.Exec(ctx, `UPDATE users SET disabled_at = 0 WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("enabling user %q: %w", name, err)
	}
	if ct.RowsAffected() != 1 {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return nil
}
