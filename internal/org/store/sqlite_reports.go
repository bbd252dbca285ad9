package store

import (
	"context"
	"fmt"
)

func (s *SQLite) PutReport(ctx context.Context, r Report) error {
	// One statement, so the check that no other device holds the code and
	// the write are one transaction.
	res, err := s.w.ExecContext(ctx, `INSERT INTO device_reports(device_id, user_name, support_code, received_at, body)
SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM device_reports WHERE support_code = ?3 AND device_id <> ?1)
ON CONFLICT(device_id) DO UPDATE SET user_name=excluded.user_name, support_code=excluded.support_code, received_at=excluded.received_at, body=excluded.body`,
		r.DeviceID, r.User, r.SupportCode, unix(r.ReceivedAt), r.Body)
	if err != nil {
		return fmt.Errorf("storing report of device %s: %w", r.DeviceID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("storing report of device %s: support code %s belongs to another device: %w", r.DeviceID, r.SupportCode, ErrConflict)
	}
	return nil
}

func (s *SQLite) ReportBySupportCode(ctx context.Context, code string) (Report, error) {
	r := Report{SupportCode: code}
	var received int64
	// Newest first: reports stored before codes were bound to devices
	// may share one.
	err := s.r.QueryRowContext(ctx, `SELECT device_id, user_name, received_at, body FROM device_reports
WHERE support_code = ? ORDER BY received_at DESC, device_id LIMIT 1`, code).Scan(&r.DeviceID, &r.User, &received, &r.Body)
	if err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", code, notFound(err))
	}
	r.ReceivedAt = fromUnix(received)
	return r, nil
}
