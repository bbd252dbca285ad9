package store

import (
	"context"
	"fmt"
)

func (s *Postgres) PutReport(ctx context.Context, r Report) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO device_reports(device_id, user_name, support_code, received_at, body) VALUES($1,$2,$3,$4,$5)
ON CONFLICT(device_id) DO UPDATE SET user_name=excluded.user_name, support_code=excluded.support_code, received_at=excluded.received_at, body=excluded.body`,
		r.DeviceID, r.User, r.SupportCode, unix(r.ReceivedAt), r.Body)
	if err != nil {
		return fmt.Errorf("storing report of device %s: %w", r.DeviceID, err)
	}
	return nil
}

func (s *Postgres) ReportBySupportCode(ctx context.Context, code string) (Report, error) {
	r := Report{SupportCode: code}
	var received int64
	err := s.pool.QueryRow(ctx, `SELECT device_id, user_name, received_at, body FROM device_reports
WHERE support_code = $1 ORDER BY received_at DESC, device_id LIMIT 1`, code).Scan(&r.DeviceID, &r.User, &received, &r.Body)
	if err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", code, pgNotFound(err))
	}
	r.ReceivedAt = fromUnix(received)
	return r, nil
}
