package store

import (
	"context"
	"time"
)

// Gateways records through which gateway each device was last connected,
// from the WireGuard handshakes the gateways report. Implementations are
// safe for concurrent use.
type Gateways interface {
	// RecordHandshakes stores each handshake as its device's last
	// connection, through the gateway gatewayKey that devices reach at
	// endpoint, if the device is authorised at now under that public key
	// and no newer handshake of it is recorded, from any gateway (the
	// newest wins: a device that failed over moves to the other one;
	// of two in the same second, the later call).
	// Other handshakes change nothing, so a gateway cannot record a
	// device the portal does not admit. It returns how many it stored.
	RecordHandshakes(ctx context.Context, gatewayKey, endpoint string, hs []Handshake, now time.Time) (int, error)
	// DeviceGateways returns the recorded last connection of every
	// device that has one, by device id.
	DeviceGateways(ctx context.Context) (map[string]DeviceGateway, error)
}

// Handshake is a device's latest WireGuard handshake at a gateway.
type Handshake struct {
	DeviceID string
	// PublicKey is the device's key the gateway saw it with.
	PublicKey string
	At        time.Time
}

// DeviceGateway is the gateway a device was last connected through.
type DeviceGateway struct {
	DeviceID string
	// GatewayKey is the gateway's WireGuard public key, its identity.
	GatewayKey string
	// GatewayEndpoint is host:port as the portal lists the gateway for
	// devices, when it recorded the handshake.
	GatewayEndpoint string
	LastHandshake   time.Time
}
