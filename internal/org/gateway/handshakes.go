package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
)

// HandshakeSink takes the peers' latest handshakes: the portal, whose
// console shows through which gateway each device is connected. It is an
// interface so a gateway reports the same way beside the portal
// (LocalHandshakes) and as a process of its own (*PortalSource).
// Implementations are safe for concurrent use.
type HandshakeSink interface {
	ReportHandshakes(ctx context.Context, hs []portalsrv.PeerHandshake) error
}

// How the gateway reports: it looks at its peers every handshakeCheck
// and reports a peer's first handshake (a new or moved connection) at
// once; the rekeys of connected peers (every 2 minutes with traffic)
// wait and go together, at most every handshakeBatch.
const (
	handshakeCheck = 2 * time.Second
	// A connected device's handshake is then at most 2 min (rekey) +
	// 25 s (its keepalive) + 20 s + 2 s old at the portal: under the
	// 3 minutes after which the console says the connection is gone.
	handshakeBatch = 20 * time.Second
	// A handshake this long after the one reported ends a pause: the
	// device was away or on another gateway, so it counts as first.
	handshakeGap = 3 * time.Minute
	// reportTimeout bounds one report; the next check tries again.
	reportTimeout = 10 * time.Second
)

// LocalHandshakes reports to a portal in this process, as the gateway
// with this public key (one of the portal's gateways).
func LocalHandshakes(srv *portalsrv.Server, publicKey string) HandshakeSink {
	return localSink{srv, publicKey}
}

type localSink struct {
	srv *portalsrv.Server
	key string
}

func (l localSink) ReportHandshakes(ctx context.Context, hs []portalsrv.PeerHandshake) error {
	_, err := l.srv.RecordHandshakes(ctx, l.key, hs)
	return err
}

// ReportHandshakes implements HandshakeSink: it posts them to the portal,
// which takes the gateway from the client certificate.
func (p *PortalSource) ReportHandshakes(ctx context.Context, hs []portalsrv.PeerHandshake) error {
	body, err := json.Marshal(portalsrv.HandshakeReport{Handshakes: hs})
	if err != nil {
		return fmt.Errorf("encoding handshakes: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.handshakesURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return fmt.Errorf("reporting handshakes to the portal: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		var e struct{ Message string }
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		return fmt.Errorf("the portal refused the handshakes (%s): %s", resp.Status, msg)
	}
	return nil
}

// reportLoop tells cfg.Handshakes about new handshakes until ctx ends.
func (g *Gateway) reportLoop(ctx context.Context) {
	defer g.tasks.Done()
	r := handshakeReporter{sink: g.cfg.Handshakes, reported: map[string]time.Time{}}
	t := time.NewTicker(handshakeCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		peers, err := g.Peers()
		if err != nil {
			g.log.Warn("reading peers for the handshake report", "err", err)
			continue
		}
		if err := r.report(ctx, peers, time.Now()); err != nil && ctx.Err() == nil {
			if !r.failing {
				g.log.Warn("reporting handshakes to the portal; retrying", "err", err)
			}
			r.failing = true
		} else if r.failing && err == nil {
			g.log.Info("reporting handshakes to the portal again")
			r.failing = false
		}
	}
}

// handshakeReporter remembers what was reported. It is used by one
// goroutine.
type handshakeReporter struct {
	sink HandshakeSink
	// reported is the last handshake reported, by peer public key.
	reported map[string]time.Time
	lastSent time.Time
	// retryAt holds reports back after a failure, doubling the pause.
	retryAt  time.Time
	failures int
	failing  bool
}

// report sends what is new in peers at now (wall clock, as WireGuard
// stamps handshakes): at once if a peer has its first handshake, else
// once handshakeBatch has passed since the last report.
func (r *handshakeReporter) report(ctx context.Context, peers []PeerStatus, now time.Time) error {
	var news []portalsrv.PeerHandshake
	var at []time.Time // the handshake of each of news
	first := false
	admitted := make(map[string]bool, len(peers))
	for _, p := range peers {
		admitted[p.PublicKey] = true
		last := r.reported[p.PublicKey]
		if p.LastHandshake.IsZero() || !p.LastHandshake.After(last) {
			continue
		}
		if last.IsZero() || p.LastHandshake.Sub(last) > handshakeGap {
			first = true
		}
		age := max(0, now.Sub(p.LastHandshake)/time.Second)
		news = append(news, portalsrv.PeerHandshake{DeviceID: p.DeviceID, PublicKey: p.PublicKey, AgeSeconds: int64(age)})
		at = append(at, p.LastHandshake)
	}
	// Removed peers are forgotten: admitted again, their next handshake
	// counts as first.
	for pk := range r.reported {
		if !admitted[pk] {
			delete(r.reported, pk)
		}
	}
	if len(news) == 0 || now.Before(r.retryAt) || (!first && now.Sub(r.lastSent) < handshakeBatch) {
		return nil
	}
	for len(news) > 0 {
		n := min(len(news), portalsrv.MaxHandshakesPerReport)
		rctx, cancel := context.WithTimeout(ctx, reportTimeout)
		err := r.sink.ReportHandshakes(rctx, news[:n])
		cancel()
		if err != nil {
			r.failures++
			r.retryAt = now.Add(min(handshakeCheck<<min(r.failures, 5), handshakeBatch))
			return err
		}
		for i, h := range news[:n] {
			r.reported[h.PublicKey] = at[i]
		}
		news, at = news[n:], at[n:]
	}
	r.failures, r.retryAt, r.lastSent = 0, time.Time{}, now
	return nil
}
