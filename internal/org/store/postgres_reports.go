package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func (s *Postgres) PutReport(ctx context.Context, r Report) error {
	var stored int64
	b := &pgx.Batch{}
	// One writer per support code at a time: two devices sending the same
	// new code together would otherwise both see it free.
	b.Queue(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, pgLockSupportCodes, r.SupportCode)
	b.Queue(`INSERT INTO device_reports(device_id, user_name, support_code, received_at, body)
SELECT $1::text, $2::text, $3::text, $4::bigint, $5::bytea WHERE NOT EXISTS (SELECT 1 FROM device_reports WHERE support_code = $3 AND device_id <> $1)
ON CONFLICT(device_id) DO UPDATE SET user_name=excluded.user_name, support_code=excluded.support_code, received_at=excluded.received_at, body=excluded.body`,
		r.DeviceID, r.User, r.SupportCode, unix(r.ReceivedAt), r.Body).
		Exec(func(ct pgconn.CommandTag) error { stored = ct.RowsAffected(); return nil })
	if err := s.batch(ctx, b); err != nil {
		return fmt.Errorf("storing report of device %s: %w", r.DeviceID, err)
	}
	if stored != 1 {
		return fmt.Errorf("storing report of device %s: support code %s belongs to another device: %w", r.DeviceID, r.SupportCode, ErrConflict)
	}
	return nil
}

func (s *Postgres) ReportBySupportCode(ctx context.Context, code string) (Report, error) {
	r := Report{SupportCode: code}
	var received int64
	// Newest first: reports stored before codes were bound to devices
	// may share one.
	err := s.pool.QueryRow(ctx, `SELECT device_id, user_name, received_at, body FROM device_reports
WHERE support_code = $1 ORDER BY received_at DESC, device_id LIMIT 1`, code).Scan(&r.DeviceID, &r.User, &received, &r.Body)
	if err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", code, pgNotFound(err))
	}
	r.ReceivedAt = fromUnix(received)
	return r, nil
}
