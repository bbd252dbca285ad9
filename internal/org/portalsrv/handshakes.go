package portalsrv

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// GatewayHandshakesRoute is where a gateway of its own reports its
// peers' latest WireGuard handshakes (HandshakeReport), so the console
// can show through which gateway each device is connected. Like
// GatewayPeersRoute it takes the gateway's client certificate, whose
// public key is the gateway that the handshakes are recorded for: a
// body never names a gateway.
const GatewayHandshakesRoute = "POST /gateway/v1/handshakes"

// MaxHandshakesPerReport bounds one report, so it fits the portal's body
// limit (16 KiB by default); a gateway with more news sends several.
const MaxHandshakesPerReport = 100

// maxHandshakeAge is the oldest handshake a report may carry: a gateway
// reports a handshake when it is new, so a week-old one is a broken
// gateway or a forged report.
const maxHandshakeAge = 7 * 24 * time.Hour

// Each gateway may send handshakeReportBurst reports at once (its first ones after
// a start, MaxHandshakesPerReport peers each), then one every
// handshakeReportEvery: a gateway with 20,000 busy peers needs fewer.
const (
	handshakeReportBurst = 64
	handshakeReportEvery = 250 * time.Millisecond
)

// HandshakeReport is the body of GatewayHandshakesRoute.
type HandshakeReport struct {
	Handshakes []PeerHandshake `json:"handshakes"`
}

// PeerHandshake is one peer's latest handshake at the reporting gateway.
// Its time is an age, so the gateway's clock need not agree with the
// portal's: the portal records now minus the age.
type PeerHandshake struct {
	DeviceID string `json:"device_id"`
	// PublicKey is the device's base64 WireGuard key the gateway admits.
	PublicKey  string `json:"public_key"`
	AgeSeconds int64  `json:"age_seconds"`
}

// HandshakeReceipt answers a report.
type HandshakeReceipt struct {
	// Recorded counts the handshakes stored as their device's last
	// connection.
	Recorded int `json:"recorded"`
	// Ignored counts the others: devices not admitted now under that
	// key (a session that ended meanwhile, or a device no gateway
	// serves), or an older handshake than the one recorded.
	Ignored int `json:"ignored"`
}

// RecordHandshakes records the handshakes a gateway saw as its devices'
// last connections, for the gateway with this public key, which must be
// one of the portal's (--gateway). The in-process gateway calls it
// directly; a gateway of its own through GatewayHandshakesRoute. A report
// that breaks the rules is refused whole with an error that says why.
func (s *Server) RecordHandshakes(ctx context.Context, gatewayKey string, hs []PeerHandshake) (HandshakeReceipt, error) {
	gw, ok := s.tunnel.Load().gateway(gatewayKey)
	if !ok {
		return HandshakeReceipt{}, newAPIError(http.StatusForbidden, api.CodeUnauthorised, "gateway "+gatewayKey+" is not one of the portal's gateways (--gateway)")
	}
	if len(hs) > MaxHandshakesPerReport {
		return HandshakeReceipt{}, newAPIError(http.StatusBadRequest, api.CodeBadRequest,
			fmt.Sprintf("%d handshakes in one report; send at most %d at a time", len(hs), MaxHandshakesPerReport))
	}
	now := s.cfg.Now()
	seen := make(map[string]bool, len(hs))
	recs := make([]store.Handshake, 0, len(hs))
	for i, h := range hs {
		bad := func(msg string) error {
			return newAPIError(http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf("handshake %d: %s", i+1, msg))
		}
		switch {
		case h.DeviceID == "" || len(h.DeviceID) > 64:
			return HandshakeReceipt{}, bad("device_id must be a device's id")
		case seen[h.DeviceID]:
			return HandshakeReceipt{}, bad("device " + h.DeviceID + " is in the report twice")
		case h.AgeSeconds < 0 || h.AgeSeconds > int64(maxHandshakeAge/time.Second):
			return HandshakeReceipt{}, bad(fmt.Sprintf("age_seconds must be 0 to %d", int64(maxHandshakeAge/time.Second)))
		}
		if _, err := parseWGKey(h.PublicKey); err != nil {
			return HandshakeReceipt{}, bad("public_key: " + err.Error())
		}
		seen[h.DeviceID] = true
		recs = append(recs, store.Handshake{DeviceID: h.DeviceID, PublicKey: h.PublicKey, At: now.Add(-time.Duration(h.AgeSeconds) * time.Second)})
	}
	n, err := s.st.RecordHandshakes(ctx, gw.PublicKey, gw.Endpoint, recs, now)
	if err != nil {
		return HandshakeReceipt{}, err
	}
	s.metrics.handshakes.WithLabelValues("recorded").Add(float64(n))
	s.metrics.handshakes.WithLabelValues("ignored").Add(float64(len(recs) - n))
	return HandshakeReceipt{Recorded: n, Ignored: len(recs) - n}, nil
}

// gateway returns the configured gateway with this public key.
func (t *TunnelConfig) gateway(publicKey string) (Gateway, bool) {
	for _, g := range t.Gateways {
		if g.PublicKey == publicKey {
			return g, true
		}
	}
	return Gateway{}, false
}

// handleGatewayHandshakes takes a gateway's report; see
// GatewayHandshakesRoute.
func (s *Server) handleGatewayHandshakes(w http.ResponseWriter, r *http.Request) {
	key := gatewayOf(r.Context())
	if wait := s.handshakeLimits.take(key, time.Now()); wait > 0 {
		secs := max(1, int(math.Ceil(wait.Seconds())))
		s.fail(w, r, &apiError{
			status:     http.StatusTooManyRequests,
			body:       api.Error{Code: api.CodeRateLimited, Message: fmt.Sprintf("too many reports from this gateway, retry after %d seconds", secs), RetryAfterSeconds: secs},
			retryAfter: time.Duration(secs) * time.Second,
		})
		return
	}
	var rep HandshakeReport
	if !s.decode(w, r, &rep) {
		return
	}
	rec, err := s.RecordHandshakes(r.Context(), key, rep.Handshakes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// gatewayKeyCtx carries the verified gateway identity (withGateway).
type gatewayKeyCtx struct{}

func gatewayOf(ctx context.Context) string {
	k, _ := ctx.Value(gatewayKeyCtx{}).(string)
	return k
}

// handshakeLimiter is a token bucket per gateway, in memory: reports are
// cheap to refuse and each portal instance guards its own store writes.
type handshakeLimiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// take spends a token of gateway's bucket at now, or says how long
// until there is one (spending nothing).
func (l *handshakeLimiter) take(gateway string, now time.Time) time.Duration {
	l.mu.Lock()
	b := l.buckets[gateway]
	if b == nil {
		if l.buckets == nil {
			l.buckets = map[string]*rate.Limiter{}
		}
		b = rate.NewLimiter(rate.Every(handshakeReportEvery), handshakeReportBurst)
		l.buckets[gateway] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return wait
	}
	return 0
}
