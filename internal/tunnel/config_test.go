package tunnel_test

import (
	"net/netip"
	"testing"

	"github.com/dienstweg/dienstweg/internal/tunnel"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

func netipPrefixZero() netip.Prefix { return netip.Prefix{} }

func validConfig(tb testing.TB) tunnel.Config {
	tb.Helper()
	priv, _ := wgconf.NewPrivateKey()
	gw, _ := wgconf.NewPrivateKey()
	gwPub, _ := wgconf.PublicKey(gw)
	return tunnel.Config{
		PrivateKey:       priv,
		Address:          netip.MustParsePrefix("10.77.0.10/32"),
		DNS:              []netip.Addr{netip.MustParseAddr("10.77.0.1")},
		GatewayEndpoint:  "127.0.0.1:9",
		GatewayPublicKey: gwPub,
		AllowedIPs:       []netip.Prefix{netip.MustParsePrefix("10.77.0.0/16")},
	}
}
