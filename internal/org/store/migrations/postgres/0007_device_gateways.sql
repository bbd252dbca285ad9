-- Through which gateway each device was last connected: the newest
-- WireGuard handshake a gateway reported for it. One row per device,
-- replaced by a newer handshake from any gateway (a device that failed
-- over moves to the other gateway's row values).
CREATE TABLE device_gateways(
	device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
	gateway_key TEXT NOT NULL,
	gateway_endpoint TEXT NOT NULL,
	handshake_at BIGINT NOT NULL
);
