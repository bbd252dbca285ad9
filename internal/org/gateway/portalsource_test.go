package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// A gateway of its own follows the portal's authorisations over the
// network: admitted on registration, cut off at expiry and revocation,
// as the in-process one is.
func TestRemoteGatewayFollowsPortal(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{Remote: true})
	d := o.Enroll(t, "anna")
	o.WaitAdmitted(t, d, true)
	e := up(t, d)
	if _, err := get(e, gatewaytest.IntranetURL, 20*time.Second); err != nil {
		t.Fatalf("GET intranet through the remote gateway: %v", err)
	}
	if err := o.Portal.Server.RevokeDevice(context.Background(), d.Reg.DeviceID); err != nil {
		t.Fatalf("RevokeDevice: %v", err)
	}
	o.WaitAdmitted(t, d, false)
}

// The push: with a poll interval of an hour, only the long poll can
// bring a new authorisation to the gateway.
func TestRemoteGatewayGetsChangesPushed(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{Remote: true, Gateway: func(c *gateway.Config) { c.PollInterval = time.Hour }})
	d := o.Enroll(t, "bernd")
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps, err := o.Gateway.Peers()
		if err != nil {
			t.Fatalf("Peers: %v", err)
		}
		if len(ps) == 1 && ps[0].PublicKey == d.PublicKey {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration never reached the gateway without a poll: %+v", ps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Only the organisation's configured gateways read the peers; everyone
// else is refused with a reason, in the answer and in the portal's log.
func TestPortalRefusesStrangerGateways(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := portalsrv.GatewayClientCA(filepath.Join(dir, "tls"), time.Now())
	if err != nil {
		t.Fatalf("GatewayClientCA: %v", err)
	}
	logs := &syncBuffer{}
	tcfg := portaltest.Tunnel()
	env := portaltest.Start(t, portaltest.Options{Dir: dir, Config: portalsrv.Config{
		Tunnel: tcfg, GatewayClientCA: ca,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	}})
	// Another organisation's portal and CA.
	other := portaltest.Start(t, portaltest.Options{})

	trusted := gatewaytest.GatewayTLS(t, env, tcfg.GatewayPublicKey)
	noCert := trusted.Clone()
	noCert.Certificates = nil
	foreign := gatewaytest.GatewayTLS(t, other, tcfg.GatewayPublicKey)
	foreign.RootCAs = trusted.RootCAs
	unlisted := gatewaytest.GatewayTLS(t, env, portaltest.NewWGKey())

	url := env.URL + strings.TrimPrefix(portalsrv.GatewayPeersRoute, "GET ")
	for _, tc := range []struct {
		name   string
		tls    *tls.Config
		status int
		reason string
	}{
		{"configured_gateway", trusted, http.StatusOK, ""},
		{"no_certificate", noCert, http.StatusForbidden, "no client certificate"},
		{"other_ca", foreign, http.StatusForbidden, "not from the organisation's CA"},
		{"gateway_not_configured", unlisted, http.StatusForbidden, "is not one of the portal's gateways"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.tls}, Timeout: 10 * time.Second}
			defer hc.CloseIdleConnections()
			resp, err := hc.Get(url)
			if err != nil {
				t.Fatalf("GET peers: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.reason) {
				t.Fatalf("answer %d %q, want %d saying %q", resp.StatusCode, body, tc.status, tc.reason)
			}
		})
	}
	// Refusals are logged at most once per 10 s: the first is there.
	if !strings.Contains(logs.String(), "gateway refused") || !strings.Contains(logs.String(), "no client certificate") {
		t.Errorf("portal log lacks the refusal:\n%s", logs.String())
	}
}

// A held poll outlasts the portal's ReadTimeout (15 s): it ends with
// 304 at its wait, not with a connection cut off.
func TestLongPollOutlastsReadTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 17 s")
	}
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{Remote: true})
	key, err := wgconf.PublicKey(o.GatewayKey)
	if err != nil {
		t.Fatalf("PublicKey: %v", err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: gatewaytest.GatewayTLS(t, o.Portal, key)}, Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	url := o.Portal.URL + strings.TrimPrefix(portalsrv.GatewayPeersRoute, "GET ")
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET peers: %v", err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		t.Fatalf("first poll: %s, ETag %q", resp.Status, etag)
	}
	req, _ := http.NewRequest(http.MethodGet, url+"?wait=17", nil)
	req.Header.Set("If-None-Match", etag)
	start := time.Now()
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatalf("held poll after %v: %v", time.Since(start).Round(time.Millisecond), err)
	}
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusNotModified || took < 17*time.Second {
		t.Errorf("held poll: %s after %v, want 304 after 17 s", resp.Status, took.Round(time.Millisecond))
	}
}
