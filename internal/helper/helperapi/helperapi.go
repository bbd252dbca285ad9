// Package helperapi is the wire protocol between the agent (tunnel.System)
// and the privileged helper: JSON over HTTP on a local socket. It is its
// own package so both sides share it without importing each other.
package helperapi

import (
	"net/netip"
	"time"
)

// DefaultSocket is where the helper listens on Linux.
const DefaultSocket = "/run/dienstweg/helper.sock"

// Endpoints of the helper. All answer JSON; errors are an Error with a
// 4xx or 5xx status.
const (
	// PathUp (POST, body UpRequest) brings the session up or replaces it;
	// it answers the Status.
	PathUp = "/v1/up"
	// PathDown (POST, no body) ends the session; it answers the Status.
	PathDown = "/v1/down"
	// PathStatus (GET) answers the Status.
	PathStatus = "/v1/status"
)

// Config is the tunnel configuration of one session. The private key is
// in here: the helper keeps it in memory only and never logs it.
type Config struct {
	PrivateKey       string         `json:"private_key"`
	Address          netip.Prefix   `json:"address"`
	DNS              []netip.Addr   `json:"dns,omitempty"`
	SearchDomains    []string       `json:"search_domains,omitempty"`
	GatewayEndpoint  string         `json:"gateway_endpoint"`
	GatewayPublicKey string         `json:"gateway_public_key"`
	AllowedIPs       []netip.Prefix `json:"allowed_ips"`
	KeepaliveSeconds int            `json:"keepalive_seconds,omitempty"`
	MTU              int            `json:"mtu,omitempty"`
}

// UpRequest is the body of PathUp.
type UpRequest struct {
	Config Config `json:"config"`
}

// Status is the helper's session as it is now.
type Status struct {
	Up bool `json:"up"`
	// Interface is the TUN device's name while up.
	Interface string       `json:"interface,omitempty"`
	Address   netip.Prefix `json:"address,omitzero"`
	// Endpoint is the gateway address in use.
	Endpoint netip.AddrPort `json:"endpoint,omitzero"`
	// LastHandshake is zero before the first completed handshake.
	LastHandshake time.Time `json:"last_handshake,omitzero"`
	// HandshakeAgeSeconds is -1 before the first handshake.
	HandshakeAgeSeconds float64 `json:"handshake_age_seconds"`
	RxBytes             uint64  `json:"rx_bytes"`
	TxBytes             uint64  `json:"tx_bytes"`
	// DNS names how the office DNS was set: "resolved", "file" or "".
	DNS string `json:"dns,omitempty"`
}

// Error is the body of an error answer.
type Error struct {
	Error string `json:"error"`
}
