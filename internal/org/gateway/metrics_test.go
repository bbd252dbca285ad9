package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/org/opsrv"
)

// The gateway's metrics show its admitted peers and, once a device has
// talked through it, that device's handshake by age.
func TestGatewayMetrics(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{})
	h, err := opsrv.Handler(opsrv.Config{Collectors: []prometheus.Collector{o.Gateway.Collector()}})
	if err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("/metrics = %d", rec.Code)
		}
		return rec.Body.String()
	}
	expect := func(text string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(text, l+"\n") {
				t.Errorf("metrics lack %q:\n%s", l, text)
			}
		}
	}
	expect(scrape(), "dienstweg_gateway_peers 0", "dienstweg_gateway_scrape_error 0")

	d := o.Enroll(t, "anna")
	o.WaitAdmitted(t, d, true)
	expect(scrape(), "dienstweg_gateway_peers 1", "dienstweg_gateway_peers_without_handshake 1",
		`dienstweg_gateway_peers_by_handshake_age{le="+Inf"} 0`)

	e := up(t, d)
	if _, err := get(e, gatewaytest.IntranetURL, 20*time.Second); err != nil {
		t.Fatalf("GET intranet: %v", err)
	}
	expect(scrape(), "dienstweg_gateway_peers 1", "dienstweg_gateway_peers_without_handshake 0",
		`dienstweg_gateway_peers_by_handshake_age{le="30"} 1`, `dienstweg_gateway_peers_by_handshake_age{le="+Inf"} 1`)
}
