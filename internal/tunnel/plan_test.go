package tunnel_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/tunnel"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestNewPlan(t *testing.T) {
	gw := netip.MustParseAddrPort("192.0.2.7:51820")
	tests := []struct {
		name    string
		edit    func(*tunnel.Config)
		gateway string // "" means gw
		// want is checked when wantErr is "".
		want    func(*testing.T, tunnel.Plan)
		wantErr string
	}{{
		name: "the demo's office",
		want: func(t *testing.T, p tunnel.Plan) {
			if p.MTU != 1420 || p.Address != netip.MustParsePrefix("10.77.0.10/32") || p.Gateway != gw || p.GatewayPublicKey == "" {
				t.Errorf("plan = %+v", p)
			}
			if !slices.Equal(p.Routes, prefixes("10.77.0.0/16")) {
				t.Errorf("routes = %v", p.Routes)
			}
			if !slices.Equal(p.DNS.Servers, []netip.Addr{netip.MustParseAddr("10.77.0.1")}) || p.DNS.Empty() {
				t.Errorf("dns = %+v", p.DNS)
			}
		},
	}, {
		name: "routes masked, each once, none inside another, in the portal's order",
		edit: func(c *tunnel.Config) {
			c.AllowedIPs = prefixes("10.77.3.4/16", "172.16.0.0/12", "10.77.0.0/16", "172.20.1.0/24", "fd00:77::1/64", "fd00:77::/48", "10.80.0.0/24")
		},
		want: func(t *testing.T, p tunnel.Plan) {
			if want := prefixes("10.77.0.0/16", "172.16.0.0/12", "fd00:77::/48", "10.80.0.0/24"); !slices.Equal(p.Routes, want) {
				t.Errorf("routes = %v, want %v", p.Routes, want)
			}
		},
	}, {
		name: "domains lower-case, without trailing dot, each once",
		edit: func(c *tunnel.Config) {
			c.SearchDomains = []string{"Stadt.Example.", "stadt.example", "intern.stadt.example"}
		},
		want: func(t *testing.T, p tunnel.Plan) {
			if want := []string{"stadt.example", "intern.stadt.example"}; !slices.Equal(p.DNS.Domains, want) {
				t.Errorf("domains = %v, want %v", p.DNS.Domains, want)
			}
		},
	}, {
		name: "no office DNS",
		edit: func(c *tunnel.Config) { c.DNS = nil },
		want: func(t *testing.T, p tunnel.Plan) {
			if !p.DNS.Empty() {
				t.Errorf("dns = %+v, want none", p.DNS)
			}
		},
	}, {
		name: "MTU and keepalive carried over",
		edit: func(c *tunnel.Config) { c.MTU, c.KeepaliveSeconds = 1380, 25 },
		want: func(t *testing.T, p tunnel.Plan) {
			if p.MTU != 1380 || p.KeepaliveSeconds != 25 {
				t.Errorf("mtu %d keepalive %d", p.MTU, p.KeepaliveSeconds)
			}
		},
	}, {
		name:    "an IPv4-mapped gateway is its IPv4 address",
		gateway: "[::ffff:192.0.2.7]:51820",
		want: func(t *testing.T, p tunnel.Plan) {
			if p.Gateway != gw {
				t.Errorf("gateway = %v, want %v", p.Gateway, gw)
			}
		},
	}, {
		name:    "a gateway on loopback (the demo) is fine",
		gateway: "127.0.0.1:51820",
		want:    func(*testing.T, tunnel.Plan) {},
	}, {
		name:    "gateway inside the office networks",
		gateway: "10.77.9.9:51820",
		wantErr: "inside the office networks",
	}, {
		name:    "mapped gateway inside the office networks",
		gateway: "[::ffff:10.77.9.9]:51820",
		wantErr: "inside the office networks",
	}, {
		name: "gateway is the tunnel address",
		edit: func(c *tunnel.Config) {
			c.Address = netip.MustParsePrefix("192.0.2.7/32")
			c.DNS = nil
		},
		wantErr: "is the gateway's",
	}, {
		name:    "no gateway port",
		gateway: "192.0.2.7:0",
		wantErr: "address and port",
	}, {
		name:    "unspecified gateway",
		gateway: "0.0.0.0:51820",
		wantErr: "cannot be a gateway",
	}, {
		name:    "a bad config is refused as Validate refuses it",
		edit:    func(c *tunnel.Config) { c.AllowedIPs = prefixes("0.0.0.0/0") },
		wantErr: "default route",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig(t)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			g := gw
			if tc.gateway != "" {
				g = netip.MustParseAddrPort(tc.gateway)
			}
			p, err := tunnel.NewPlan(cfg, g)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("NewPlan = %+v, %v; want an error saying %q", p, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPlan: %v", err)
			}
			tc.want(t, p)
		})
	}
}

func TestPlanSameNetwork(t *testing.T) {
	gw := netip.MustParseAddrPort("192.0.2.7:51820")
	base, err := tunnel.NewPlan(validConfig(t), gw)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(*tunnel.Config)
		gateway string
		same    bool
	}{
		{name: "new keys and gateway only", edit: func(c *tunnel.Config) {}, gateway: "198.51.100.1:4000", same: true},
		{name: "the same networks written differently", edit: func(c *tunnel.Config) { c.AllowedIPs = prefixes("10.77.1.1/16", "10.77.0.0/16") }, same: true},
		{name: "another address", edit: func(c *tunnel.Config) { c.Address = netip.MustParsePrefix("10.77.0.11/32") }},
		{name: "another MTU", edit: func(c *tunnel.Config) { c.MTU = 1400 }},
		{name: "another network", edit: func(c *tunnel.Config) { c.AllowedIPs = prefixes("10.77.0.0/16", "10.78.0.0/16") }},
		{name: "other DNS", edit: func(c *tunnel.Config) { c.DNS = []netip.Addr{netip.MustParseAddr("10.77.0.2")} }},
		{name: "other domains", edit: func(c *tunnel.Config) { c.SearchDomains = []string{"stadt.example"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig(t) // new keys each time
			tc.edit(&cfg)
			g := gw
			if tc.gateway != "" {
				g = netip.MustParseAddrPort(tc.gateway)
			}
			p, err := tunnel.NewPlan(cfg, g)
			if err != nil {
				t.Fatal(err)
			}
			if got := base.SameNetwork(p); got != tc.same {
				t.Errorf("SameNetwork = %v, want %v", got, tc.same)
			}
		})
	}
}
