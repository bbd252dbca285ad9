package tunnel_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

func upEngine(tb testing.TB, d *gatewaytest.Device, opts tunnel.UserspaceOptions) *tunnel.Userspace {
	tb.Helper()
	e := tunnel.NewUserspace(opts)
	if err := e.Up(context.Background(), tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)); err != nil {
		tb.Fatalf("Up: %v", err)
	}
	tb.Cleanup(func() { e.Down() })
	return e
}

func fetch(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), errors.New(resp.Status)
	}
	return string(b), err
}

const page = "Intranet der Stadt Musterstadt"

func TestUserspaceCarriesIntranetTraffic(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{})
	d := o.Enroll(t, "anna")
	o.WaitAdmitted(t, d, true)
	e := upEngine(t, d, tunnel.UserspaceOptions{SOCKSAddr: "127.0.0.1:0"})
	ctx := context.Background()

	t.Run("lookup_through_tunnel", func(t *testing.T) {
		addrs, err := e.LookupHost(ctx, "intranet.musterstadt.example")
		if err != nil || len(addrs) != 1 || addrs[0] != gatewaytest.GatewayAddr {
			t.Fatalf("LookupHost = %v, %v; want %v", addrs, err, gatewaytest.GatewayAddr)
		}
		if _, err := e.LookupHost(ctx, "nope.musterstadt.example"); err == nil {
			t.Errorf("unknown name resolved")
		}
	})
	t.Run("by_internal_name", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{DialContext: e.DialContext}, Timeout: 20 * time.Second}
		body, err := fetch(c, gatewaytest.IntranetURL)
		if err != nil || !strings.Contains(body, page) {
			t.Fatalf("GET = %q, %v", body, err)
		}
	})
	t.Run("by_short_name_with_search_domain", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{DialContext: e.DialContext}, Timeout: 20 * time.Second}
		body, err := fetch(c, "http://intranet/")
		if err != nil || !strings.Contains(body, page) {
			t.Fatalf("GET = %q, %v", body, err)
		}
	})
	t.Run("through_socks_proxy", func(t *testing.T) {
		addr := e.SOCKSAddr()
		if addr == "" {
			t.Fatalf("no SOCKS proxy running")
		}
		// socks5h: the proxy resolves the internal name, as a browser
		// set to "proxy DNS" does.
		pu, _ := url.Parse("socks5h://" + addr)
		c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}, Timeout: 20 * time.Second}
		body, err := fetch(c, gatewaytest.IntranetURL)
		if err != nil || !strings.Contains(body, page) {
			t.Fatalf("GET via SOCKS = %q, %v", body, err)
		}
	})
	t.Run("socks_refuses_outside_office", func(t *testing.T) {
		pu, _ := url.Parse("socks5://" + e.SOCKSAddr())
		c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}, Timeout: 20 * time.Second}
		_, err := fetch(c, "http://192.0.2.1/")
		if err == nil || !strings.Contains(err.Error(), "not allowed") {
			t.Fatalf("GET outside the office via SOCKS: %v, want a refusal", err)
		}
	})
	t.Run("dial_outside_office_refused", func(t *testing.T) {
		if _, err := e.DialContext(ctx, "tcp", "192.0.2.1:80"); !errors.Is(err, tunnel.ErrNotInTunnel) {
			t.Fatalf("DialContext outside = %v, want ErrNotInTunnel", err)
		}
	})
	t.Run("stats", func(t *testing.T) {
		st, err := e.Stats()
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		if st.LastHandshake.IsZero() || st.RxBytes == 0 || st.TxBytes == 0 || st.HandshakeAge(time.Now()) < 0 {
			t.Errorf("Stats after traffic = %+v", st)
		}
		if st.Endpoint.String() != o.Gateway.Endpoint() {
			t.Errorf("endpoint %s, want %s", st.Endpoint, o.Gateway.Endpoint())
		}
	})

	addr := e.SOCKSAddr()
	if err := e.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if _, err := e.Stats(); !errors.Is(err, tunnel.ErrDown) {
		t.Errorf("Stats after Down = %v, want ErrDown", err)
	}
	if _, err := e.DialContext(ctx, "tcp", "10.77.0.1:80"); !errors.Is(err, tunnel.ErrDown) {
		t.Errorf("DialContext after Down = %v, want ErrDown", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("SOCKS proxy still listens after Down")
	}
}

func TestUpReplacesRunningTunnel(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{})
	d := o.Enroll(t, "bernd")
	o.WaitAdmitted(t, d, true)
	e := upEngine(t, d, tunnel.UserspaceOptions{SOCKSAddr: "127.0.0.1:0"})
	socks := e.SOCKSAddr()
	// A reconnect: the same profile again, as after a network change.
	if err := e.Up(context.Background(), tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if e.SOCKSAddr() != socks {
		t.Errorf("SOCKS address changed from %s to %s across a reconnect", socks, e.SOCKSAddr())
	}
	if err := e.Rebind(); err != nil {
		t.Errorf("Rebind: %v", err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: e.DialContext}, Timeout: 20 * time.Second}
	if body, err := fetch(c, gatewaytest.IntranetURL); err != nil || !strings.Contains(body, page) {
		t.Fatalf("GET after reconnect = %q, %v", body, err)
	}
}

func TestUpRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*tunnel.Config)
	}{
		{"no_address", func(c *tunnel.Config) { c.Address = netipPrefixZero() }},
		{"bad_private_key", func(c *tunnel.Config) { c.PrivateKey = "x" }},
		{"bad_gateway_key", func(c *tunnel.Config) { c.GatewayPublicKey = "x" }},
		{"no_allowed_ips", func(c *tunnel.Config) { c.AllowedIPs = nil }},
		{"address_prefix", func(c *tunnel.Config) { c.Address = netip.MustParsePrefix("10.77.0.10/16") }},
		{"address_loopback", func(c *tunnel.Config) { c.Address = netip.MustParsePrefix("127.0.0.2/32") }},
		{"default_route", func(c *tunnel.Config) { c.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")} }},
		{"route_over_link_local", func(c *tunnel.Config) {
			c.AllowedIPs = append(c.AllowedIPs, netip.MustParsePrefix("169.254.0.0/16"))
		}},
		{"dns_outside_office", func(c *tunnel.Config) { c.DNS = []netip.Addr{netip.MustParseAddr("192.0.2.53")} }},
		{"search_domain_newline", func(c *tunnel.Config) { c.SearchDomains = []string{"a.example\nnameserver 192.0.2.66"} }},
		{"mtu_small", func(c *tunnel.Config) { c.MTU = 576 }},
		{"mtu_large", func(c *tunnel.Config) { c.MTU = 65536 }},
		{"endpoint_no_port", func(c *tunnel.Config) { c.GatewayEndpoint = "127.0.0.1" }},
		{"endpoint_port_zero", func(c *tunnel.Config) { c.GatewayEndpoint = "127.0.0.1:0" }},
		{"endpoint_service_name", func(c *tunnel.Config) { c.GatewayEndpoint = "127.0.0.1:wireguard" }},
		{"endpoint_unspecified", func(c *tunnel.Config) { c.GatewayEndpoint = "0.0.0.0:51820" }},
		{"endpoint_bad_name", func(c *tunnel.Config) { c.GatewayEndpoint = "vpn musterstadt:51820" }},
		{"socks_not_loopback", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig(t)
			opts := tunnel.UserspaceOptions{}
			if tc.mod != nil {
				tc.mod(&cfg)
			} else {
				opts.SOCKSAddr = "0.0.0.0:0"
			}
			e := tunnel.NewUserspace(opts)
			if err := e.Up(context.Background(), cfg); err == nil {
				e.Down()
				t.Fatalf("Up accepted %s", tc.name)
			}
			if _, err := e.Stats(); !errors.Is(err, tunnel.ErrDown) {
				t.Errorf("engine not down after failed Up: %v", err)
			}
		})
	}
}
