package gateway

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// handshakeBuckets, in seconds: WireGuard rekeys every 2 minutes while
// traffic flows, so an age beyond 180 s means the peer has gone quiet
// (or its session-end is near); beyond 10 minutes it is likely gone.
var handshakeBuckets = []float64{30, 60, 120, 180, 300, 600, 1800, 3600}

var (
	peersDesc = prometheus.NewDesc("dienstweg_gateway_peers",
		"Device peers this gateway admits now.", nil, nil)
	noHandshakeDesc = prometheus.NewDesc("dienstweg_gateway_peers_without_handshake",
		"Admitted peers that have not completed a handshake yet.", nil, nil)
	// A snapshot, so gauges (a Prometheus histogram must only grow).
	handshakeAgeDesc = prometheus.NewDesc("dienstweg_gateway_peers_by_handshake_age",
		"Admitted peers whose latest handshake is at most le seconds old, at scrape time.", []string{"le"}, nil)
	maxAgeDesc = prometheus.NewDesc("dienstweg_gateway_handshake_age_max_seconds",
		"Age of the oldest latest handshake among admitted peers that had one.", nil, nil)
	scrapeErrorDesc = prometheus.NewDesc("dienstweg_gateway_scrape_error",
		"1 if the gateway's state could not be read for this scrape.", nil, nil)
)

// Collector returns the gateway's metrics: peers and handshake ages,
// read from the WireGuard device at each scrape (counts by age, not a
// series per device: thousands of devices would swamp the monitoring).
func (g *Gateway) Collector() prometheus.Collector { return gatewayCollector{g} }

type gatewayCollector struct{ g *Gateway }

func (c gatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- peersDesc
	ch <- noHandshakeDesc
	ch <- handshakeAgeDesc
	ch <- maxAgeDesc
	ch <- scrapeErrorDesc
}

func (c gatewayCollector) Collect(ch chan<- prometheus.Metric) {
	peers, err := c.g.Peers()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 0)
	// WireGuard stamps handshakes with the wall clock, not cfg.Now.
	now := time.Now()
	counts := make([]int, len(handshakeBuckets))
	var none, with int
	var oldest float64
	for _, p := range peers {
		if p.LastHandshake.IsZero() {
			none++
			continue
		}
		age := max(0, now.Sub(p.LastHandshake).Seconds())
		with++
		oldest = max(oldest, age)
		for i, b := range handshakeBuckets {
			if age <= b {
				counts[i]++
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(peersDesc, prometheus.GaugeValue, float64(len(peers)))
	ch <- prometheus.MustNewConstMetric(noHandshakeDesc, prometheus.GaugeValue, float64(none))
	for i, b := range handshakeBuckets {
		ch <- prometheus.MustNewConstMetric(handshakeAgeDesc, prometheus.GaugeValue, float64(counts[i]), strconv.FormatFloat(b, 'f', -1, 64))
	}
	ch <- prometheus.MustNewConstMetric(handshakeAgeDesc, prometheus.GaugeValue, float64(with), "+Inf")
	ch <- prometheus.MustNewConstMetric(maxAgeDesc, prometheus.GaugeValue, oldest)
}
