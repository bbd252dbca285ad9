package portalsrv_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
)

// proxyV2 is the PROXY protocol v2 header HAProxy's send-proxy-v2 writes
// for a TCP client at src talking to dst.
func proxyV2(src, dst netip.AddrPort) []byte {
	h := []byte("\r\n\r\n\x00\r\nQUIT\n\x21")
	var body []byte
	if src.Addr().Is4() {
		h = append(h, 0x11)
		s, d := src.Addr().As4(), dst.Addr().As4()
		body = append(append(body, s[:]...), d[:]...)
	} else {
		h = append(h, 0x21)
		s, d := src.Addr().As16(), dst.Addr().As16()
		body = append(append(body, s[:]...), d[:]...)
	}
	body = binary.BigEndian.AppendUint16(body, src.Port())
	body = binary.BigEndian.AppendUint16(body, dst.Port())
	h = binary.BigEndian.AppendUint16(h, uint16(len(body)))
	return append(h, body...)
}

// viaBalancer is an HTTPS client whose connections come from the loopback
// address balancer and start with a PROXY header naming client (none if
// client is not valid).
func viaBalancer(t *testing.T, env *portaltest.Env, balancer string, client netip.AddrPort) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(env.CAPEM))
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(balancer)}, Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil || !client.IsValid() {
				return c, err
			}
			if _, err := c.Write(proxyV2(client, netip.MustParseAddrPort(addr))); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func wrongCodeVia(t *testing.T, hc *http.Client, env *portaltest.Env) (int, string) {
	t.Helper()
	resp, err := hc.Post(env.URL+"/api/v1/enrollments", "application/json",
		strings.NewReader(`{"user":"nobody","activation_code":"AAAA-BBBB-CCCC"}`))
	if err != nil {
		t.Fatalf("POST enrollment: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Behind a balancer, each client's wrong codes count against its own
// address from the PROXY header, not against the balancer's: otherwise
// one client's guesses would stop the whole city's enrollment.
func TestBalancerPassesClientSource(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")},
		SourceBurst:    2,
		SourceEvery:    time.Hour,
		LockAfter:      100,
	}})
	guesser := viaBalancer(t, env, "127.0.0.3", netip.MustParseAddrPort("192.0.2.7:40000"))
	for i := range 2 {
		if st, body := wrongCodeVia(t, guesser, env); st != http.StatusUnauthorized {
			t.Fatalf("wrong code %d from the guesser = %d %s, want 401", i+1, st, body)
		}
	}
	if st, body := wrongCodeVia(t, guesser, env); st != http.StatusTooManyRequests {
		t.Fatalf("third wrong code from the guesser = %d %s, want 429 (its source bucket is empty)", st, body)
	}
	other := viaBalancer(t, env, "127.0.0.3", netip.MustParseAddrPort("[2001:db8::5]:40000"))
	if st, body := wrongCodeVia(t, other, env); st != http.StatusUnauthorized {
		t.Fatalf("another client behind the same balancer = %d %s, want 401: it must not pay for the guesser", st, body)
	}
}

// A trusted balancer must send the header; anyone else's header is not
// read, so nobody can choose the source they are counted as.
func TestProxyHeaderOnlyFromTrustedBalancer(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")},
	}})
	if _, err := viaBalancer(t, env, "127.0.0.3", netip.AddrPort{}).Get(env.URL + "/api/v1/health"); err == nil {
		t.Errorf("a trusted balancer's connection without PROXY header was served")
	}
	if _, err := viaBalancer(t, env, "127.0.0.4", netip.MustParseAddrPort("192.0.2.9:1")).Get(env.URL + "/api/v1/health"); err == nil {
		t.Errorf("a PROXY header from an untrusted peer was read")
	}
	resp, err := viaBalancer(t, env, "127.0.0.4", netip.AddrPort{}).Get(env.URL + "/api/v1/health")
	if err != nil {
		t.Fatalf("a direct client next to the balancer: %v", err)
	}
	resp.Body.Close()
}
