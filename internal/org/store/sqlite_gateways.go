package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// recordHandshakeSQL inserts only for a device admitted now under the key
// and replaces no newer handshake; within one second the later report
// wins. "?" and "$n" differ per store.
const recordHandshakeSQL = `INSERT INTO device_gateways(device_id, gateway_key, gateway_endpoint, handshake_at)
SELECT id, %[1]s, %[2]s, %[3]s FROM devices WHERE id = %[4]s AND public_key = %[5]s AND revoked_at = 0 AND authorised_until > %[6]s
ON CONFLICT(device_id) DO UPDATE SET gateway_key = excluded.gateway_key, gateway_endpoint = excluded.gateway_endpoint, handshake_at = excluded.handshake_at
WHERE excluded.handshake_at >= device_gateways.handshake_at`

var sqliteRecordHandshake = fmt.Sprintf(recordHandshakeSQL, "?", "?", "?", "?", "?", "?")

func (s *SQLite) RecordHandshakes(ctx context.Context, gatewayKey, endpoint string, hs []Handshake, now time.Time) (int, error) {
	if len(hs) == 0 {
		return 0, nil
	}
	stored := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stored = 0
		stmt, err := tx.PrepareContext(ctx, sqliteRecordHandshake)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, h := range hs {
			res, err := stmt.ExecContext(ctx, gatewayKey, endpoint, unix(h.At), h.DeviceID, h.PublicKey, unix(now))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			stored += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recording handshakes of gateway %s: %w", gatewayKey, err)
	}
	return stored, nil
}

func (s *SQLite) DeviceGateways(ctx context.Context) (map[string]DeviceGateway, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT device_id, gateway_key, gateway_endpoint, handshake_at FROM device_gateways`)
	if err != nil {
		return nil, fmt.Errorf("reading device gateways: %w", err)
	}
	defer rows.Close()
	out := map[string]DeviceGateway{}
	for rows.Next() {
		var g DeviceGateway
		var at int64
		if err := rows.Scan(&g.DeviceID, &g.GatewayKey, &g.GatewayEndpoint, &at); err != nil {
			return nil, fmt.Errorf("reading device gateways: %w", err)
		}
		g.LastHandshake = fromUnix(at)
		out[g.DeviceID] = g
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading device gateways: %w", err)
	}
	return out, nil
}
