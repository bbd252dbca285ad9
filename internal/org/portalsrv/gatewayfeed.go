package portalsrv

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// GatewayPeersRoute is where a gateway of its own reads the authorised
// peers. It is the organisation's internal API, not the devices': a
// gateway proves itself with a client certificate (IssueGatewayCert), so
// the route is outside api.AllRoutes and the device contract.
//
// A gateway sends the Version it has in If-None-Match and ?wait=SECONDS:
// the answer is 200 with the list as soon as it differs, or 304 when it
// has not changed within the wait (long poll; push without a stream).
const GatewayPeersRoute = "GET /gateway/v1/peers"

// GatewayOU is the organisational unit of gateway client certificates;
// their common name is the gateway's WireGuard public key.
const GatewayOU = "Dienstweg gateway"

// Long-poll bounds. MaxGatewayWait stays well inside the server's
// WriteTimeout (30 s), so a held answer is never cut off.
const (
	MaxGatewayWait = 20 * time.Second
	// gatewayRecheck is how often a held long poll reads the store
	// again: another portal instance's change sends no signal here.
	gatewayRecheck = 2 * time.Second
	// maxGatewayPolls bounds held long polls; they take no in-flight
	// slot, so devices never wait behind gateways.
	maxGatewayPolls = 32
)

// PeerList is the answer of GatewayPeersRoute.
type PeerList struct {
	// Version names this list; equal lists have equal versions.
	Version    string    `json:"version"`
	ServerTime time.Time `json:"server_time"`
	Peers      []Peer    `json:"peers"`
}

// peerList reads the authorised peers at now, sorted by device, with
// their version.
func (s *Server) peerList(r *http.Request) (PeerList, error) {
	now := s.cfg.Now()
	peers, err := s.AuthorisedPeers(r.Context(), now)
	if err != nil {
		return PeerList{}, err
	}
	slices.SortFunc(peers, func(a, b Peer) int { return strings.Compare(a.DeviceID, b.DeviceID) })
	b, err := json.Marshal(peers)
	if err != nil {
		return PeerList{}, fmt.Errorf("encoding peers: %w", err)
	}
	sum := sha256.Sum256(b)
	return PeerList{Version: hex.EncodeToString(sum[:16]), ServerTime: now.UTC(), Peers: peers}, nil
}

// handleGatewayPeers answers a gateway's (long) poll; see GatewayPeersRoute.
func (s *Server) handleGatewayPeers(w http.ResponseWriter, r *http.Request) {
	have := strings.Trim(r.Header.Get("If-None-Match"), `"`)
	wait := time.Duration(0)
	if v := r.URL.Query().Get("wait"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil || secs < 0 {
			s.fail(w, r, newAPIError(http.StatusBadRequest, api.CodeBadRequest, "wait must be a number of seconds"))
			return
		}
		wait = min(time.Duration(secs)*time.Second, MaxGatewayWait)
	}
	// Subscribe before the first read: a change between the read and the
	// wait must still wake it.
	changed, stop := s.Subscribe()
	defer stop()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	recheck := time.NewTicker(gatewayRecheck)
	defer recheck.Stop()
	for {
		list, err := s.peerList(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if list.Version != have {
			w.Header().Set("ETag", `"`+list.Version+`"`)
			writeJSON(w, http.StatusOK, list)
			return
		}
		select {
		case <-changed:
		case <-recheck.C:
		case <-deadline.C:
			w.Header().Set("ETag", `"`+list.Version+`"`)
			w.WriteHeader(http.StatusNotModified)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// withGateway lets only the organisation's gateways through: a client
// certificate from GatewayClientCA whose public key is one of the
// configured gateways'. It checks before anything else, so a stranger
// costs one verification and never a slot or a store read.
func (s *Server) withGateway(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := s.gatewayIdentity(r)
		if err != nil {
			s.gwRefusals.log(s, r.RemoteAddr, err)
			writeError(w, http.StatusForbidden, errBody(api.CodeUnauthorised, "only the organisation's gateways may use this: "+err.Error()))
			return
		}
		s.log.Debug("gateway asks", "route", r.Pattern, "gateway", key, "remote", r.RemoteAddr)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), gatewayKeyCtx{}, key)))
	})
}

// gatewayIdentity returns the public key of the gateway that sent r.
func (s *Server) gatewayIdentity(r *http.Request) (string, error) {
	ca := s.cfg.GatewayClientCA
	switch {
	case ca == nil:
		return "", errors.New("this portal has no gateways of their own (no gateway CA)")
	case r.TLS == nil:
		return "", errors.New("no TLS, so no client certificate")
	case len(r.TLS.PeerCertificates) == 0:
		return "", errors.New("no client certificate")
	}
	leaf := r.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	// Real time, as TLS itself judges certificates: the test clock of
	// the portal is about authorisations.
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: ca, Intermediates: inter, CurrentTime: time.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return "", fmt.Errorf("client certificate %q not from the organisation's CA: %w", leaf.Subject.CommonName, err)
	}
	if !slices.Contains(leaf.Subject.OrganizationalUnit, GatewayOU) {
		return "", fmt.Errorf("client certificate %q is not a gateway's", leaf.Subject.CommonName)
	}
	key := leaf.Subject.CommonName
	// Removing a gateway from the configuration revokes its certificate.
	if t := s.tunnel.Load(); !t.hasGateway(key) {
		return "", fmt.Errorf("gateway %s is not one of the portal's gateways (--gateway)", key)
	}
	return key, nil
}

// refusalLog logs refused gateway clients, at most one line per
// refusalEvery with the count of those left out, so a client that keeps
// trying cannot flood the log.
type refusalLog struct {
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

const refusalEvery = 10 * time.Second

func (l *refusalLog) log(s *Server, remote string, err error) {
	l.mu.Lock()
	now := time.Now()
	if now.Before(l.next) {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.next, l.suppressed = now.Add(refusalEvery), 0
	l.mu.Unlock()
	s.log.Warn("gateway refused", "remote", remote, "reason", err.Error(), "more_refused_since_last_line", n)
}
