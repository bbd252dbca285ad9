package portalsrv

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// sourceKey names the network a request comes from, for the per-source
// limit. It is the connection's peer address and never an HTTP header:
// anyone can send X-Forwarded-For, and the portal terminates TLS itself
// (clients pin its CA). Behind a balancer the peer address is the
// client's from the balancer's PROXY header (Config.TrustedProxies). IPv6
// counts per /64, what one host or household is usually given.
func sourceKey(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return "source:" + r.RemoteAddr
	}
	a := ap.Addr().Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "source:" + p.String()
	}
	return "source:" + a.String()
}

// checkSource refuses an unauthenticated code check from a source whose
// failed checks used up its token bucket, before any costly hash runs.
// Only failures pay (chargeSource), so a whole office behind one address
// can enroll at once.
func (s *Server) checkSource(ctx context.Context, key string, now time.Time) error {
	wait, err := s.st.TokenWait(ctx, key, now, s.cfg.SourceEvery, s.cfg.SourceBurst)
	if err != nil {
		return err
	}
	if wait <= 0 {
		return nil
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &apiError{
		status: http.StatusTooManyRequests,
		body: api.Error{
			Code:              api.CodeRateLimited,
			Message:           fmt.Sprintf("too many wrong codes from this network, retry after %d seconds", secs),
			RetryAfterSeconds: secs,
		},
		retryAfter: time.Duration(secs) * time.Second,
	}
}

// chargeSource makes a failed check cost its source a token. Checks let
// through together all pay, into debt: a parallel burst buys no more
// guesses over time than a sequential one.
func (s *Server) chargeSource(ctx context.Context, key string, now time.Time) error {
	return s.st.TakeToken(ctx, key, now, s.cfg.SourceEvery)
}
