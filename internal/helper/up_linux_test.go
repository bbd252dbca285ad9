package helper_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/helper/helpertest"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// postUp sends body to the helper's /v1/up as root and returns the HTTP
// status and answer.
func postUp(t *testing.T, sock, body, contentType string) (int, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Post("http://helper/v1/up", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST /v1/up: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postDown(t *testing.T, sock string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Post("http://helper/v1/down", "", nil)
	if err != nil {
		t.Fatalf("POST /v1/down: %v", err)
	}
	resp.Body.Close()
}

// upBody is a valid /v1/up body with mod applied to its config.
func upBody(t *testing.T, mod func(map[string]any)) string {
	t.Helper()
	priv, _ := wgconf.NewPrivateKey()
	gw, _ := wgconf.NewPrivateKey()
	gwPub, _ := wgconf.PublicKey(gw)
	cfg := map[string]any{
		"private_key":        priv,
		"address":            "10.77.0.10/32",
		"dns":                []string{"10.77.0.1"},
		"search_domains":     []string{"musterstadt.example"},
		"gateway_endpoint":   helpertest.OfficeVethAddr.String() + ":51820",
		"gateway_public_key": gwPub,
		"allowed_ips":        []string{"10.77.0.0/16"},
		"keepalive_seconds":  25,
	}
	if mod != nil {
		mod(cfg)
	}
	b, err := json.Marshal(map[string]any{"config": cfg})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func set(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }

// The helper runs as root on what a caller sends. Whatever would take it
// beyond the tunnel is refused before anything changes: the campaign's
// question for the privilege boundary.
func TestUpRefusesWhatLeavesTheTunnel(t *testing.T) {
	helpertest.NeedRoot(t)
	t.Parallel()
	home := helpertest.NewHome(t)
	h := home.StartHelper(t, helpertest.HelperConfig{})
	before := home.Snapshot(t)

	// The control: a sound request works, so the refusals below are not
	// an artefact of a broken request.
	if code, out := postUp(t, h.Socket, upBody(t, nil), "application/json"); code != http.StatusOK {
		t.Fatalf("valid request: %d %s", code, out)
	}
	if s := home.Snapshot(t); !strings.Contains(s.ResolvConf, "nameserver 10.77.0.1") {
		t.Fatalf("valid request set no office DNS:\n%s", s.ResolvConf)
	}
	postDown(t, h.Socket)
	if diff := home.Snapshot(t).Diff(before); diff != "" {
		t.Fatalf("after the control session:\n%s", diff)
	}

	many := make([]string, 300)
	for i := range many {
		many[i] = fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256)
	}
	for _, tc := range []struct {
		name string
		body string
	}{
		{"search_domain_newline", upBody(t, set("search_domains", []string{"musterstadt.example\nnameserver 192.0.2.66"}))},
		{"search_domain_space", upBody(t, set("search_domains", []string{"musterstadt.example options ndots:15"}))},
		{"dns_zone_newline", upBody(t, set("dns", []string{"fe80::1%lo\nnameserver 192.0.2.66"}))},
		{"dns_outside_tunnel", upBody(t, set("dns", []string{"192.0.2.53"}))},
		{"dns_loopback", upBody(t, set("dns", []string{"127.0.0.1"}))},
		{"ipv6_default_route", upBody(t, set("allowed_ips", []string{"10.77.0.0/16", "::/0"}))},
		{"half_the_internet", upBody(t, set("allowed_ips", []string{"0.0.0.0/1"}))},
		{"link_local_route", upBody(t, set("allowed_ips", []string{"169.254.0.0/16"}))},
		{"multicast_route", upBody(t, set("allowed_ips", []string{"224.0.0.0/4"}))},
		{"loopback_route", upBody(t, set("allowed_ips", []string{"127.0.0.0/8"}))},
		{"route_covers_gateway", upBody(t, set("allowed_ips", []string{"10.203.0.0/24"}))},
		{"too_many_routes", upBody(t, set("allowed_ips", many))},
		{"address_with_wide_prefix", upBody(t, set("address", "10.77.0.10/8"))},
		{"address_loopback", upBody(t, set("address", "127.0.0.2/32"))},
		{"address_is_gateway", upBody(t, set("address", helpertest.OfficeVethAddr.String()+"/32"))},
		{"mtu_tiny", upBody(t, set("mtu", 100))},
		{"mtu_huge", upBody(t, set("mtu", 1<<20))},
		{"mtu_negative", upBody(t, set("mtu", -1))},
		{"endpoint_name", upBody(t, set("gateway_endpoint", "localhost:51820"))},
		{"endpoint_port_zero", upBody(t, set("gateway_endpoint", "10.203.0.1:0"))},
		{"endpoint_zone_newline", upBody(t, set("gateway_endpoint", "[fe80::1%lo\nallowed_ip=0.0.0.0/0]:51820"))},
		{"endpoint_unspecified", upBody(t, set("gateway_endpoint", "0.0.0.0:51820"))},
		{"unknown_field", upBody(t, set("interface", "eth0"))},
		{"trailing_data", upBody(t, nil) + `{"config":{}}`},
	} {
		code, out := postUp(t, h.Socket, tc.body, "application/json")
		if code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", tc.name, code, out)
		}
		if diff := home.Snapshot(t).Diff(before); diff != "" {
			t.Errorf("%s changed the system:\n%s", tc.name, diff)
		}
		postDown(t, h.Socket)
	}
	if code, out := postUp(t, h.Socket, upBody(t, nil), "text/plain"); code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d %s, want 415", code, out)
	}
	if diff := home.Snapshot(t).Diff(before); diff != "" {
		t.Errorf("after all refusals:\n%s", diff)
	}
}

// The portal may list an office network twice, written differently, or
// one inside another. The helper routes each once (tunnel.NewPlan), where
// it used to fail the second as "already routed on this computer".
func TestUpRoutesEachNetworkOnce(t *testing.T) {
	helpertest.NeedRoot(t)
	t.Parallel()
	home := helpertest.NewHome(t)
	h := home.StartHelper(t, helpertest.HelperConfig{})
	before := home.Snapshot(t)
	body := upBody(t, set("allowed_ips", []string{"10.77.0.0/16", "10.77.3.4/16", "10.77.9.0/24", "10.78.0.0/24"}))
	if code, out := postUp(t, h.Socket, body, "application/json"); code != http.StatusOK {
		t.Fatalf("up: %d %s", code, out)
	}
	routes := home.Snapshot(t).Routes
	for _, want := range []string{"10.77.0.0/16 dev", "10.78.0.0/24 dev"} {
		if strings.Count(routes, want) != 1 {
			t.Errorf("want one route %q:\n%s", want, routes)
		}
	}
	if strings.Contains(routes, "10.77.9.0/24") {
		t.Errorf("a route for a network inside another:\n%s", routes)
	}
	postDown(t, h.Socket)
	if diff := home.Snapshot(t).Diff(before); diff != "" {
		t.Fatalf("after the session:\n%s", diff)
	}
}
