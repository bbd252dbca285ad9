package tunnel

import (
	"errors"
	"log/slog"
	"net/netip"

	"golang.zx2c4.com/wireguard/device"

	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// The exported plumbing below lets the privileged helper (internal/helper)
// run the same WireGuard configuration as the userspace engine on a real
// TUN device, without a second copy of the rules.

// Validate checks cfg as Up does and fills in the defaults (MTU). The
// helper relies on it for everything a caller may send it.
func (c *Config) Validate() error { return c.validate() }

// UAPIConfig is the wireguard-go configuration of cfg with the gateway at
// ep, replacing all earlier peers. It contains the private key.
func UAPIConfig(cfg Config, ep netip.AddrPort) (string, error) {
	return uapiConfig(cfg, ep)
}

// StatsFromUAPI reads the gateway peer's stats from a wireguard-go
// IpcGet answer.
func StatsFromUAPI(uapi, gatewayPublicKey string) (Stats, error) {
	d, err := wgconf.ParseUAPI(uapi)
	if err != nil {
		return Stats{}, err
	}
	for _, p := range d.Peers {
		if p.PublicKey == gatewayPublicKey {
			return Stats{LastHandshake: p.LastHandshake, RxBytes: p.RxBytes, TxBytes: p.TxBytes, Endpoint: p.Endpoint}, nil
		}
	}
	return Stats{}, errors.New("gateway peer missing from tunnel")
}

// WireGuardLogger routes wireguard-go's logs to l, formatting its
// per-packet lines only when debug logging is on.
func WireGuardLogger(l *slog.Logger) *device.Logger { return wgLogger(l) }
