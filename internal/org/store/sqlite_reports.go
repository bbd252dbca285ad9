package store

import (
	"context"
	"fmt"
)

func (s *SQLite) PutReport(ctx context.Context, r Report) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO device_reports(device_id, user_name, support_code, received_at, body) VALUES(?,?,?,?,?)
ON CONFLICT(device_id) DO UPDATE SET user_name=excluded.user_name, support_code=excluded.support_code, received_at=excluded.received_at, body=excluded.body`,
		r.DeviceID, r.User, r.SupportCode, unix(r.ReceivedAt), r.Body)
	if err != nil {
		return fmt.Errorf("storing report of device %s: %w", r.DeviceID, err)
	}
	return nil
}

func (s *SQLite) ReportBySupportCode(ctx context.Context, code string) (Report, error) {
	r := Report{SupportCode: code}
	var received int64
	err := s.r.QueryRowContext(ctx, `SELECT device_id, user_name, received_at, body FROM device_reports
WHERE support_code = ? ORDER BY received_at DESC, device_id LIMIT 1`, code).Scan(&r.DeviceID, &r.User, &received, &r.Body)
	if err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", code, notFound(err))
	}
	r.ReceivedAt = fromUnix(received)
	return r, nil
}
