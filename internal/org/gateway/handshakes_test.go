package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/org/opsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// waitDeviceGateway waits until the portal's store records a connection
// of deviceID through the gateway with this key. It is a wait with a
// generous deadline, not a timing assertion.
func waitDeviceGateway(tb testing.TB, st store.Store, deviceID, gatewayKey string) store.DeviceGateway {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		gs, err := st.DeviceGateways(context.Background())
		if err != nil {
			tb.Fatalf("DeviceGateways: %v", err)
		}
		if g, ok := gs[deviceID]; ok && g.GatewayKey == gatewayKey {
			return g
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no connection of %s through gateway %s recorded; records %+v", deviceID, gatewayKey, gs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A gateway reports its peers' handshakes to the portal, which records
// the device's gateway with the endpoint it lists for it: the gateway of
// its own over HTTPS with its client certificate, the in-process one
// (the demo's) directly.
func TestGatewayReportsHandshakes(t *testing.T) {
	t.Parallel()
	for _, remote := range []bool{true, false} {
		t.Run(fmt.Sprintf("remote_%v", remote), func(t *testing.T) {
			t.Parallel()
			o := gatewaytest.Start(t, gatewaytest.Options{Remote: remote})
			d := o.Enroll(t, "anna")
			o.WaitAdmitted(t, d, true)
			e := up(t, d)
			if _, err := get(e, gatewaytest.IntranetURL, 20*time.Second); err != nil {
				t.Fatalf("GET intranet: %v", err)
			}
			pub, _ := wgconf.PublicKey(o.GatewayKey)
			g := waitDeviceGateway(t, o.Portal.Store, d.Reg.DeviceID, pub)
			if want := o.Portal.Server.Tunnel().GatewayEndpoint; g.GatewayEndpoint != want {
				t.Errorf("recorded endpoint %q, want the portal's %q", g.GatewayEndpoint, want)
			}
			// The handshake was just now on the portal's clock, whatever
			// the gateway's clock says (the report carries an age).
			if age := o.Portal.Clock.Now().Sub(g.LastHandshake); age < 0 || age > time.Minute {
				t.Errorf("recorded handshake %v is %v before the portal's now", g.LastHandshake, age)
			}
		})
	}
}

// postReport sends body to the handshakes route with tlsCfg.
func postReport(tb testing.TB, url string, tlsCfg *tls.Config, contentType string, body []byte) (int, string) {
	tb.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("POST handshakes: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func reportJSON(hs ...portalsrv.PeerHandshake) []byte {
	b, _ := json.Marshal(portalsrv.HandshakeReport{Handshakes: hs})
	return b
}

// Only the organisation's gateways report, each only for itself (the
// certificate names the gateway, never the body), within bounds; a
// device the portal does not admit under that key cannot be recorded.
func TestPortalRefusesHostileHandshakeReports(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{Remote: true})
	anna := o.Enroll(t, "anna")   // admitted for the day
	bernd := o.Enroll(t, "bernd") // its session ended below
	if err := o.Portal.Server.RevokeDevice(context.Background(), bernd.Reg.DeviceID); err != nil {
		t.Fatalf("RevokeDevice: %v", err)
	}
	// A second gateway, B, which reports below as itself.
	keyB := portaltest.NewWGKey()
	tcfg := o.Portal.Server.Tunnel()
	tcfg.GatewayEndpoint, tcfg.GatewayPublicKey = "", ""
	tcfg.Gateways = append(tcfg.Gateways, portalsrv.Gateway{Endpoint: "gw-b.example:51820", PublicKey: keyB})
	if err := o.Portal.Server.SetTunnel(tcfg); err != nil {
		t.Fatalf("SetTunnel: %v", err)
	}
	trusted := gatewaytest.GatewayTLS(t, o.Portal, keyB)
	noCert := trusted.Clone()
	noCert.Certificates = nil
	other := portaltest.Start(t, portaltest.Options{})
	foreign := gatewaytest.GatewayTLS(t, other, keyB)
	foreign.RootCAs = trusted.RootCAs
	unlisted := gatewaytest.GatewayTLS(t, o.Portal, portaltest.NewWGKey())

	url := o.Portal.URL + strings.TrimPrefix(portalsrv.GatewayHandshakesRoute, "POST ")
	annaHS := portalsrv.PeerHandshake{DeviceID: anna.Reg.DeviceID, PublicKey: anna.PublicKey, AgeSeconds: 5}
	many := make([]portalsrv.PeerHandshake, portalsrv.MaxHandshakesPerReport+1)
	for i := range many {
		many[i] = portalsrv.PeerHandshake{DeviceID: fmt.Sprint("dev", i), PublicKey: anna.PublicKey}
	}
	for _, tc := range []struct {
		name        string
		tls         *tls.Config
		contentType string
		body        []byte
		status      int
		reason      string
	}{
		{"no_certificate", noCert, "", reportJSON(annaHS), http.StatusForbidden, "no client certificate"},
		{"other_ca", foreign, "", reportJSON(annaHS), http.StatusForbidden, "not from the organisation's CA"},
		{"gateway_not_configured", unlisted, "", reportJSON(annaHS), http.StatusForbidden, "is not one of the portal's gateways"},
		{"not_json", trusted, "text/plain", []byte("hello"), http.StatusUnsupportedMediaType, "application/json"},
		{"malformed", trusted, "", []byte(`{"handshakes":[{"device_id":`), http.StatusBadRequest, "not valid JSON"},
		{"wrong_type", trusted, "", []byte(`{"handshakes":[{"device_id":"x","public_key":"k","age_seconds":"soon"}]}`), http.StatusBadRequest, "age_seconds"},
		{"oversized", trusted, "", bytes.Repeat([]byte(" "), 64<<10), http.StatusRequestEntityTooLarge, "larger than"},
		{"too_many", trusted, "", reportJSON(many...), http.StatusBadRequest, "send at most"},
		{"negative_age", trusted, "", reportJSON(portalsrv.PeerHandshake{DeviceID: anna.Reg.DeviceID, PublicKey: anna.PublicKey, AgeSeconds: -60}), http.StatusBadRequest, "age_seconds must be"},
		{"ancient", trusted, "", reportJSON(portalsrv.PeerHandshake{DeviceID: anna.Reg.DeviceID, PublicKey: anna.PublicKey, AgeSeconds: 30 * 24 * 3600}), http.StatusBadRequest, "age_seconds must be"},
		{"bad_key", trusted, "", reportJSON(portalsrv.PeerHandshake{DeviceID: anna.Reg.DeviceID, PublicKey: "not a key"}), http.StatusBadRequest, "public_key"},
		{"no_device", trusted, "", reportJSON(portalsrv.PeerHandshake{PublicKey: anna.PublicKey}), http.StatusBadRequest, "device_id"},
		{"twice", trusted, "", reportJSON(annaHS, annaHS), http.StatusBadRequest, "twice"},
		// Well-formed, but no device the portal admits under that key:
		// recorded none, and said so.
		{"not_admitted", trusted, "", reportJSON(
			portalsrv.PeerHandshake{DeviceID: bernd.Reg.DeviceID, PublicKey: bernd.PublicKey},
			portalsrv.PeerHandshake{DeviceID: "no-such-device", PublicKey: anna.PublicKey},
			portalsrv.PeerHandshake{DeviceID: anna.Reg.DeviceID, PublicKey: bernd.PublicKey},
		), http.StatusOK, `{"recorded":0,"ignored":3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			status, body := postReport(t, url, tc.tls, ct, tc.body)
			if status != tc.status || !strings.Contains(body, tc.reason) {
				t.Fatalf("answer %d %s, want %d saying %q", status, body, tc.status, tc.reason)
			}
		})
	}
	if gs, err := o.Portal.Store.DeviceGateways(context.Background()); err != nil || len(gs) != 0 {
		t.Fatalf("refused reports recorded %+v, %v", gs, err)
	}
	// The good report is recorded for B, the certificate's gateway, with
	// the endpoint the portal lists for B.
	if status, body := postReport(t, url, trusted, "application/json", reportJSON(annaHS)); status != http.StatusOK || !strings.Contains(body, `"recorded":1`) {
		t.Fatalf("good report: %d %s", status, body)
	}
	g := waitDeviceGateway(t, o.Portal.Store, anna.Reg.DeviceID, keyB)
	if g.GatewayEndpoint != "gw-b.example:51820" || !g.LastHandshake.Equal(o.Portal.Clock.Now().Add(-5*time.Second).Truncate(time.Second)) {
		t.Errorf("recorded %+v, want gateway B's endpoint and the portal's now minus 5 s", g)
	}
	// The portal counts what it recorded and ignored.
	h, err := opsrv.Handler(opsrv.Config{Collectors: []prometheus.Collector{o.Portal.Server.Collector()}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`dienstweg_portal_gateway_handshakes_total{result="ignored"} 3`, `dienstweg_portal_gateway_handshakes_total{result="recorded"} 1`} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A full report of real-looking peers fits the portal's default body
// limit, so a gateway never sends one the portal must refuse.
func TestFullReportFitsBodyLimit(t *testing.T) {
	hs := make([]portalsrv.PeerHandshake, portalsrv.MaxHandshakesPerReport)
	for i := range hs {
		hs[i] = portalsrv.PeerHandshake{DeviceID: fmt.Sprintf("dev_%016x", i), PublicKey: portaltest.NewWGKey(), AgeSeconds: 7 * 24 * 3600}
	}
	if n, limit := len(reportJSON(hs...)), 16<<10; n > limit {
		t.Errorf("a full report is %d bytes, over the default body limit %d", n, limit)
	}
}
