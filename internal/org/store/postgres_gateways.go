package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

var pgRecordHandshake = fmt.Sprintf(recordHandshakeSQL, "$1", "$2", "$3", "$4", "$5", "$6")

func (s *Postgres) RecordHandshakes(ctx context.Context, gatewayKey, endpoint string, hs []Handshake, now time.Time) (int, error) {
	if len(hs) == 0 {
		return 0, nil
	}
	// One order for every writer: two gateways reporting the same
	// devices at once then wait for each other's rows instead of
	// deadlocking.
	hs = slices.SortedFunc(slices.Values(hs), func(a, b Handshake) int { return strings.Compare(a.DeviceID, b.DeviceID) })
	b := &pgx.Batch{}
	for _, h := range hs {
		b.Queue(pgRecordHandshake, gatewayKey, endpoint, unix(h.At), h.DeviceID, h.PublicKey, unix(now))
	}
	// A batch runs as one implicit transaction.
	br := s.pool.SendBatch(ctx, b)
	stored := 0
	for range hs {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, fmt.Errorf("recording handshakes of gateway %s: %w", gatewayKey, err)
		}
		stored += int(tag.RowsAffected())
	}
	if err := br.Close(); err != nil {
		return 0, fmt.Errorf("recording handshakes of gateway %s: %w", gatewayKey, err)
	}
	return stored, nil
}

func (s *Postgres) DeviceGateways(ctx context.Context) (map[string]DeviceGateway, error) {
	rows, err := s.pool.Query(ctx, `SELECT device_id, gateway_key, gateway_endpoint, handshake_at FROM device_gateways`)
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
