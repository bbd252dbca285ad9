package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
)

// PortalSource is the PeerSource of a gateway of its own: it reads the
// authorised peers from the portal over HTTPS, proving itself with the
// gateway's client certificate. Run keeps a long poll open, which pushes
// each change at once; while that fails, AuthorisedPeers asks the portal
// itself on every call (the gateway's poll). Its methods are safe for
// concurrent use.
type PortalSource struct {
	peersURL      string
	handshakesURL string
	hc            *http.Client
	wait          time.Duration
	log           *slog.Logger

	mu       sync.Mutex
	list     portalsrv.PeerList
	have     bool
	streamOK bool // the last long poll was answered
	subs     map[chan struct{}]struct{}
}

// PortalSourceConfig configures a PortalSource.
type PortalSourceConfig struct {
	// PortalURL is the portal's base URL, e.g. https://portal.example:8443.
	PortalURL string
	// TLS holds the gateway's client certificate and the portal's CA
	// (GatewayTLS).
	TLS *tls.Config
	// Wait is how long the portal holds a long poll without change.
	// Default and most portalsrv.MaxGatewayWait.
	Wait time.Duration
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// NewPortalSource returns a source that has not asked yet; start Run.
func NewPortalSource(cfg PortalSourceConfig) (*PortalSource, error) {
	u, err := url.Parse(cfg.PortalURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("portal url %q must be https://host[:port]", cfg.PortalURL)
	}
	if cfg.TLS == nil || len(cfg.TLS.Certificates) == 0 {
		return nil, errors.New("the gateway needs its client certificate to ask the portal")
	}
	if cfg.Wait <= 0 || cfg.Wait > portalsrv.MaxGatewayWait {
		cfg.Wait = portalsrv.MaxGatewayWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	route := strings.TrimPrefix(portalsrv.GatewayPeersRoute, "GET ")
	tr := &http.Transport{
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: 10 * time.Second,
		// A held poll answers after Wait at the latest; beyond that the
		// way to the portal is broken, not slow.
		ResponseHeaderTimeout: cfg.Wait + 10*time.Second,
		IdleConnTimeout:       90 * time.Second,
	}
	base := strings.TrimSuffix(u.String(), "/")
	return &PortalSource{
		peersURL:      base + route,
		handshakesURL: base + strings.TrimPrefix(portalsrv.GatewayHandshakesRoute, "POST "),
		hc:            &http.Client{Transport: tr, Timeout: cfg.Wait + 15*time.Second},
		wait:          cfg.Wait,
		log:           cfg.Logger.With("component", "gateway-source", "portal", u.Host),
		subs:          map[chan struct{}]struct{}{},
	}, nil
}

// GatewayTLS loads the gateway's client certificate and the CA that
// vouches for the portal (files from "dienstweg-portal gateway cert").
func GatewayTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	var pems [3][]byte
	for i, f := range []string{certFile, keyFile, caFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading the gateway's TLS files: %w", err)
		}
		pems[i] = b
	}
	return GatewayTLSFromPEM(pems[0], pems[1], pems[2])
}

// GatewayTLSFromPEM is GatewayTLS for PEM blocks in memory.
func GatewayTLSFromPEM(certPEM, keyPEM, caPEM []byte) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading the gateway certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the portal ca holds no PEM certificate")
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, Certificates: []tls.Certificate{cert}}, nil
}

// errNotModified is a long poll that ended without a change.
var errNotModified = errors.New("not modified")

// fetch asks the portal once. With have and wait, the portal holds the
// answer until the list differs from have (errNotModified after wait).
func (p *PortalSource) fetch(ctx context.Context, have string, wait time.Duration) (portalsrv.PeerList, error) {
	u := p.peersURL
	if wait > 0 {
		u += "?wait=" + strconv.Itoa(int(wait/time.Second))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return portalsrv.PeerList{}, err
	}
	if have != "" {
		req.Header.Set("If-None-Match", `"`+have+`"`)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return portalsrv.PeerList{}, fmt.Errorf("asking the portal for peers: %w", err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 64<<20)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return portalsrv.PeerList{}, errNotModified
	default:
		b, _ := io.ReadAll(io.LimitReader(body, 4<<10))
		var e struct{ Message string }
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		return portalsrv.PeerList{}, fmt.Errorf("the portal refused the gateway (%s): %s", resp.Status, msg)
	}
	var list portalsrv.PeerList
	if err := json.NewDecoder(body).Decode(&list); err != nil {
		return portalsrv.PeerList{}, fmt.Errorf("reading the portal's peers: %w", err)
	}
	return list, nil
}

// Run keeps the long poll open until ctx ends, backing off while the
// portal cannot be reached. Each change is stored and signalled.
func (p *PortalSource) Run(ctx context.Context) {
	// Without the long poll, AuthorisedPeers must ask the portal again.
	defer p.setStream(false)
	failures := 0
	for ctx.Err() == nil {
		p.mu.Lock()
		have := p.list.Version
		p.mu.Unlock()
		list, err := p.fetch(ctx, have, p.wait)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errNotModified):
			p.setStream(true)
			failures = 0
			continue
		case err != nil:
			if p.setStream(false) {
				p.log.Warn("lost the portal's peer stream; polling until it is back", "err", err)
			}
			failures++
			// 1 s, 2 s, 4 s … 30 s, with jitter so gateways spread out.
			d := min(time.Second<<min(failures-1, 5), 30*time.Second)
			d = d/2 + rand.N(d/2+1)
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
			continue
		}
		failures = 0
		if !p.setStream(true) {
			p.log.Info("peer stream from the portal open", "peers", len(list.Peers))
		}
		p.store(list)
		p.notify()
	}
}

// setStream records whether the long poll works and reports whether
// that changed the state.
func (p *PortalSource) setStream(ok bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.streamOK
	p.streamOK = ok
	return was != ok
}

func (p *PortalSource) store(list portalsrv.PeerList) {
	p.mu.Lock()
	p.list, p.have = list, true
	p.mu.Unlock()
}

// AuthorisedPeers implements PeerSource. While the long poll works it
// answers from what the poll brought; otherwise it asks the portal.
func (p *PortalSource) AuthorisedPeers(ctx context.Context, now time.Time) ([]portalsrv.Peer, error) {
	p.mu.Lock()
	if p.streamOK && p.have {
		peers := p.list.Peers
		p.mu.Unlock()
		return peers, nil
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := p.fetch(ctx, "", 0)
	if err != nil {
		return nil, err
	}
	p.store(list)
	return list.Peers, nil
}

// Subscribe implements the gateway's change signal: a value arrives
// after each change the long poll brought (sends never block; bursts
// collapse).
func (p *PortalSource) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	p.mu.Lock()
	p.subs[ch] = struct{}{}
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		delete(p.subs, ch)
		p.mu.Unlock()
	}
}

func (p *PortalSource) notify() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range p.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// RunWithPortal runs a gateway of its own until ctx ends: cfg.Peers is
// a PortalSource made from src, whose long poll runs beside it, and
// which also takes the handshake reports unless cfg.Handshakes is set.
// ready,
// if not nil, is called once the gateway serves.
func RunWithPortal(ctx context.Context, src PortalSourceConfig, cfg Config, ready func(*Gateway)) error {
	ps, err := NewPortalSource(src)
	if err != nil {
		return err
	}
	if cfg.PollInterval == 0 {
		// While the long poll works a poll only reads its copy; without
		// it, each poll is one request to the portal.
		cfg.PollInterval = 2 * time.Second
	}
	cfg.Peers = ps
	if cfg.Handshakes == nil {
		cfg.Handshakes = ps
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); ps.Run(ctx) }()
	defer func() { cancel(); <-done }()
	gw, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(gw)
	}
	<-ctx.Done()
	return gw.Close()
}
