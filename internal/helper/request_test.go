package helper

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/tunnel"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// Fixed keys keep the fuzz corpus stable.
const (
	testPrivateKey = "YNqHbfBQKaGvzefSSrlr8fUIyJPN3F1GdRFD3FQgLXM="
	testGatewayKey = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
	homeResolvConf = "# home network\nnameserver 192.168.178.1\nsearch fritz.box\noptions edns0\n"
)

// upJSON is a valid /v1/up body with mod applied to its config.
func upJSON(mod func(map[string]any)) []byte {
	cfg := map[string]any{
		"private_key":        testPrivateKey,
		"address":            "10.77.0.10/32",
		"dns":                []string{"10.77.0.1"},
		"search_domains":     []string{"musterstadt.example"},
		"gateway_endpoint":   "192.0.2.10:51820",
		"gateway_public_key": testGatewayKey,
		"allowed_ips":        []string{"10.77.0.0/16", "fd77::/64"},
		"keepalive_seconds":  25,
	}
	if mod != nil {
		mod(cfg)
	}
	b, _ := json.Marshal(map[string]any{"config": cfg})
	return b
}

func with(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }

func TestDecodeUp(t *testing.T) {
	t.Parallel()
	if _, _, err := decodeUp(strings.NewReader(string(upJSON(nil)))); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	for _, tc := range []struct {
		name string
		body string
		want string // in the error
	}{
		{"not_json", "config=1", "bad request"},
		{"unknown_field", string(upJSON(with("interface", "eth0"))), "unknown field"},
		{"trailing_data", string(upJSON(nil)) + "{}", "after the JSON object"},
		{"address_missing", string(upJSON(with("address", ""))), "address missing"},
		{"address_prefix", string(upJSON(with("address", "10.77.0.10/16"))), "single address"},
		{"address_mapped", string(upJSON(with("address", "::ffff:10.77.0.10/128"))), "reserved"},
		{"address_link_local", string(upJSON(with("address", "169.254.0.10/32"))), "reserved"},
		{"address_is_gateway", string(upJSON(with("address", "192.0.2.10/32"))), "is the gateway's"},
		{"private_key", string(upJSON(with("private_key", "x"))), "private key"},
		{"gateway_key", string(upJSON(with("gateway_public_key", ""))), "gateway public key"},
		{"no_routes", string(upJSON(with("allowed_ips", []string{}))), "no office networks"},
		{"empty_route", string(upJSON(with("allowed_ips", []string{""}))), "empty"},
		{"default_route_v6", string(upJSON(with("allowed_ips", []string{"10.77.0.0/16", "::/0"}))), "default route"},
		{"route_over_loopback", string(upJSON(with("allowed_ips", []string{"64.0.0.0/2"}))), "127.0.0.0/8"},
		{"route_over_link_local", string(upJSON(with("allowed_ips", []string{"fe80::/64"}))), "fe80::/10"},
		{"route_over_multicast", string(upJSON(with("allowed_ips", []string{"ff02::/16"}))), "ff00::/8"},
		{"route_over_gateway", string(upJSON(with("allowed_ips", []string{"10.77.0.0/16", "192.0.2.0/24"}))), "inside the office networks"},
		{"too_many_routes", string(upJSON(with("allowed_ips", slices.Repeat([]string{"10.1.0.0/16"}, 257)))), "at most 256"},
		{"dns_outside", string(upJSON(with("dns", []string{"192.0.2.53"}))), "not in the office networks"},
		{"dns_zone", string(upJSON(with("dns", []string{"fd77::1%x\nnameserver 192.0.2.66"}))), "not in the office networks"},
		{"too_many_dns", string(upJSON(with("dns", []string{"10.77.0.1", "10.77.0.2", "10.77.0.3", "10.77.0.4"}))), "at most 3"},
		{"search_newline", string(upJSON(with("search_domains", []string{"a.example\nnameserver 192.0.2.66"}))), "not a domain name"},
		{"search_space", string(upJSON(with("search_domains", []string{"a.example options ndots:15"}))), "not a domain name"},
		{"search_empty", string(upJSON(with("search_domains", []string{""}))), "not a domain name"},
		{"too_many_search", string(upJSON(with("search_domains", slices.Repeat([]string{"a.example"}, 9)))), "at most 8"},
		{"keepalive", string(upJSON(with("keepalive_seconds", 70000))), "keepalive"},
		{"mtu_small", string(upJSON(with("mtu", 1279))), "MTU"},
		{"mtu_large", string(upJSON(with("mtu", 9001))), "MTU"},
		{"mtu_negative", string(upJSON(with("mtu", -1))), "MTU"},
		{"endpoint_name", string(upJSON(with("gateway_endpoint", "vpn.musterstadt.example:51820"))), "must be an address and port"},
		{"endpoint_service", string(upJSON(with("gateway_endpoint", "192.0.2.10:wireguard"))), "port must be"},
		{"endpoint_port_zero", string(upJSON(with("gateway_endpoint", "192.0.2.10:0"))), "port must be"},
		{"endpoint_unspecified", string(upJSON(with("gateway_endpoint", "[::]:51820"))), "cannot be a gateway"},
		{"endpoint_broadcast", string(upJSON(with("gateway_endpoint", "255.255.255.255:51820"))), "cannot be a gateway"},
		{"endpoint_multicast", string(upJSON(with("gateway_endpoint", "239.1.1.1:51820"))), "cannot be a gateway"},
		{"endpoint_zone", string(upJSON(with("gateway_endpoint", "[fe80::1%lo\nallowed_ip=0.0.0.0/0]:51820"))), "cannot be a gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := decodeUp(strings.NewReader(tc.body))
			if err == nil || !errors.As(err, new(badRequest)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decodeUp = %v, want a bad request saying %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeUp feeds the privilege boundary anything and checks what an
// accepted request makes root do: the WireGuard configuration, the
// routes and the resolv.conf lines stay within the tunnel's scope.
func FuzzDecodeUp(f *testing.F) {
	f.Add(upJSON(nil))
	f.Add(upJSON(with("mtu", 1280)))
	f.Add(upJSON(with("search_domains", []string{"a.example\nnameserver 192.0.2.66"})))
	f.Add(upJSON(with("dns", []string{"fd77::1%x\nnameserver 192.0.2.66"})))
	f.Add(upJSON(with("gateway_endpoint", "[fe80::1%lo\nallowed_ip=0.0.0.0/0]:51820")))
	f.Add(upJSON(with("allowed_ips", []string{"0.0.0.0/1", "::/0"})))
	f.Add(upJSON(with("address", "10.77.0.10/8")))
	f.Add([]byte(`{"config":{"address":"10.1.1.1/32","allowed_ips":["10.0.0.0/8"]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cfg, plan, err := decodeUp(strings.NewReader(string(body)))
		if err != nil {
			if !errors.As(err, new(badRequest)) {
				t.Fatalf("error %v is not a bad request", err)
			}
			return
		}
		checkAccepted(t, cfg, plan)
	})
}

// special are networks no accepted request may touch, spelt out apart
// from the helper's own list.
var special = []string{
	"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "::ffff:0:0/96", "fe80::/10", "ff00::/8",
}

var nameRE = regexp.MustCompile(`^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$`)

func checkAccepted(t *testing.T, cfg tunnel.Config, plan tunnel.Plan) {
	t.Helper()
	ep := plan.Gateway
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("accepted %+v, %s: %s", cfg, ep, fmt.Sprintf(format, args...))
	}
	if cfg.MTU < 1280 || cfg.MTU > 9000 || plan.MTU != cfg.MTU {
		fail("MTU %d, planned %d", cfg.MTU, plan.MTU)
	}
	a := plan.Address
	if !a.IsValid() || a.Bits() != a.Addr().BitLen() || a.Addr() == ep.Addr().Unmap() {
		fail("address %s", a)
	}
	if !ep.IsValid() || ep.Port() == 0 || ep.Addr().Zone() != "" || ep.Addr().Unmap().IsUnspecified() || ep.Addr().IsMulticast() {
		fail("endpoint %s", ep)
	}
	if len(plan.Routes) == 0 || len(plan.Routes) > len(cfg.AllowedIPs) || len(cfg.AllowedIPs) > 256 {
		fail("%d routes planned for %d networks", len(plan.Routes), len(cfg.AllowedIPs))
	}
	for _, p := range slices.Concat([]netip.Prefix{a}, cfg.AllowedIPs, plan.Routes) {
		if p.Bits() == 0 || p.Contains(ep.Addr().Unmap()) {
			fail("route %s", p)
		}
		for _, s := range special {
			if p.Overlaps(netip.MustParsePrefix(s)) {
				fail("%s overlaps %s", p, s)
			}
		}
	}
	// What WireGuard is told: one peer, our endpoint, our routes.
	uapi, err := tunnel.UAPIConfig(cfg, ep)
	if err != nil {
		fail("UAPIConfig: %v", err)
	}
	keys := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(uapi, "\n"), "\n") {
		k, _, ok := strings.Cut(l, "=")
		if !ok {
			fail("uapi line %q", l)
		}
		keys[k]++
	}
	for k, n := range keys {
		want := map[string]int{"private_key": 1, "replace_peers": 1, "public_key": 1, "endpoint": 1,
			"persistent_keepalive_interval": 1, "replace_allowed_ips": 1, "allowed_ip": len(cfg.AllowedIPs)}[k]
		if n != want {
			fail("uapi has %d %s lines:\n%s", n, k, uapi)
		}
	}
	d, err := wgconf.ParseUAPI(uapi)
	if err != nil || len(d.Peers) != 1 || d.Peers[0].Endpoint != ep || len(d.Peers[0].AllowedIPs) != len(cfg.AllowedIPs) {
		fail("uapi reads back as %+v, %v", d, err)
	}
	// What resolv.conf gets: office servers and domains only, in lines of
	// their own, and the edit undoes itself.
	rc := string(addOfficeDNS([]byte(homeResolvConf), plan.DNS.Servers, plan.DNS.Domains))
	if got := string(removeOfficeDNS([]byte(rc))); got != homeResolvConf {
		fail("resolv.conf edit does not undo itself:\n%s", got)
	}
	var ns []string
	for _, l := range strings.Split(rc, "\n") {
		switch f := strings.Fields(l); {
		case l == "", strings.HasPrefix(l, "#"), l == "options edns0":
		case len(f) == 2 && f[0] == "nameserver":
			ns = append(ns, f[1])
		case len(f) >= 2 && f[0] == "search":
			for _, d := range f[1:] {
				if !nameRE.MatchString(d) {
					fail("search domain %q in resolv.conf", d)
				}
			}
		default:
			fail("resolv.conf line %q", l)
		}
	}
	if len(ns) != len(plan.DNS.Servers)+1 {
		fail("nameserver lines %q", ns)
	}
	for _, s := range ns[:len(plan.DNS.Servers)] {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" || !slices.ContainsFunc(plan.Routes, func(p netip.Prefix) bool { return p.Contains(a) }) {
			fail("nameserver %q", s)
		}
	}
}
