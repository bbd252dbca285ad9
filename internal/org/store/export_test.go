package store

import "context"

// ExecForTest runs statements on the write connection, e.g. to make a
// database look like one of an older schema.
func (s *SQLite) ExecForTest(ctx context.Context, q string) error {
	_, err := s.w.ExecContext(ctx, q)
	return err
}
