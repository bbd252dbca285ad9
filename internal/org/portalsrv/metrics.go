package portalsrv

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the portal's Prometheus series. They are made per Server
// and registered by the caller (Collector), never in the global registry,
// so tests and several servers in one process do not collide.
type metrics struct {
	sessionsAuthorised prometheus.Counter
	codesRejected      *prometheus.CounterVec // by factor
	lockouts           *prometheus.CounterVec // by factor
	enrollments        *prometheus.CounterVec // by stage
	announcementPolls  prometheus.Counter
	requests           *prometheus.HistogramVec
	handshakes         *prometheus.CounterVec // by result
	auditFailures      atomic.Int64
}

func newMetrics() *metrics {
	return &metrics{
		sessionsAuthorised: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dienstweg_portal_sessions_authorised_total",
			Help: "Session authorisations granted with a correct code.",
		}),
		codesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dienstweg_portal_codes_rejected_total",
			Help: "Wrong codes by factor: activation (letter), confirm (first authenticator code), session (daily code).",
		}, []string{"factor"}),
		lockouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dienstweg_portal_lockouts_total",
			Help: "Locks set after too many wrong codes, by factor.",
		}, []string{"factor"}),
		enrollments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dienstweg_portal_enrollments_total",
			Help: "Enrollment steps: started, confirmed (first time), reconfirmed (re-enrollment), device_registered.",
		}, []string{"stage"}),
		announcementPolls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dienstweg_portal_announcement_polls_total",
			Help: "Announcement polls answered (200 or 304).",
		}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dienstweg_portal_gateway_handshakes_total",
			Help: "Peer handshakes the gateways reported: recorded as a device's last connection, or ignored (older than the recorded one, or a device not admitted under that key).",
		}, []string{"result"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dienstweg_portal_request_duration_seconds",
			Help:    "Time to answer admitted requests, by route and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "code"}),
	}
}

func (m *metrics) rejected(f factor) { m.codesRejected.WithLabelValues(string(f)).Inc() }

func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}

// Collector returns the portal's metrics for a Prometheus registry.
func (s *Server) Collector() prometheus.Collector {
	m := s.metrics
	counterFunc := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	return collectors{
		m.sessionsAuthorised, m.codesRejected, m.lockouts, m.enrollments, m.announcementPolls, m.requests, m.handshakes,
		counterFunc("dienstweg_portal_shed_total", "Requests answered 503 because the portal was at its in-flight bound.", &s.shed),
		counterFunc("dienstweg_portal_served_total", "Requests admitted past the in-flight bound.", &s.served),
		counterFunc("dienstweg_portal_refused_connections_total", "Connections closed at accept: their source had too many open.", &s.refusedConns),
		counterFunc("dienstweg_portal_audit_write_failures_total", "Audit events that could not be stored (each is also logged).", &m.auditFailures),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dienstweg_portal_inflight_requests",
			Help: "Requests holding an in-flight slot now.",
		}, func() float64 { return float64(len(s.inflight)) }),
	}
}

// collectors is several collectors as one.
type collectors []prometheus.Collector

func (c collectors) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range c {
		x.Describe(ch)
	}
}

func (c collectors) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c {
		x.Collect(ch)
	}
}

// shedRecently is how long after a 503 the portal reports itself not
// ready.
const shedRecently = 2 * time.Second

// Ready says whether this instance should get traffic: its store answers
// and it has not shed a request in the last shedRecently. A load balancer
// then sends new requests to another instance while this one is full.
func (s *Server) Ready(ctx context.Context) error {
	if _, err := s.st.Revision(ctx); err != nil {
		return errors.New("the database does not answer: " + err.Error())
	}
	if last := s.lastShed.Load(); last != 0 && time.Since(time.Unix(0, last)) < shedRecently {
		return errors.New("shedding load: requests were answered 503 in the last " + shedRecently.String())
	}
	return nil
}
