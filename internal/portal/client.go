// Package portal is the client of the organisation's portal API
// (docs/api/openapi.yaml). It trusts only the CA pinned in the
// organisation profile, retries with jittered exponential backoff that
// honours Retry-After, and returns *Error values the UI can explain.
package portal

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/portal/api"
	"github.com/dienstweg/dienstweg/internal/profile"
)

// Wire types, shared with the server.
type (
	// Enrollment is the answer to StartEnrollment.
	Enrollment = api.EnrollmentStartResponse
	// Confirmation is the answer to ConfirmEnrollment.
	Confirmation = api.EnrollmentConfirmResponse
	// Registration is the answer to RegisterDevice. Credential is shown
	// only here: keep it in the OS keyring.
	Registration = api.DeviceRegisterResponse
	// DeviceInfo is the answer to Device.
	DeviceInfo = api.Device
	// Tunnel is the WireGuard configuration for this device.
	Tunnel = api.Tunnel
	// Session is this device's authorisation state.
	Session = api.Session
	// Hours are when this device's user may start home office.
	Hours = api.Hours
	// Announcement is a message from IT.
	Announcement = api.Announcement
	// Text is a German and English text.
	Text = api.Text
)

// Config configures a Client. Zero fields take the documented defaults.
type Config struct {
	// BaseURL is the portal's https URL, e.g. "https://portal.example".
	BaseURL string
	// CAPEM is the pinned CA (PEM). It is the only root trusted.
	CAPEM string
	// Credential is the device credential from the keyring, if the device
	// is registered. SetCredential changes it later.
	Credential string
	// Timeout bounds one attempt. Default 20s.
	Timeout time.Duration
	// Retry tunes retries.
	Retry RetryPolicy
	// UserAgent, e.g. "Dienstweg/1.2.3 (linux)".
	UserAgent string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends; nil means a timer. Tests inject it
	// to observe waits without spending them.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0,1) for jitter; nil means math/rand/v2.
	Rand func() float64
}

// RetryPolicy is exponential backoff with full jitter: before attempt n+1
// the client waits a random time up to min(Max, Base·2^(n-1)), and never
// less than the portal's Retry-After (see backoff.Policy). Only requests
// that are safe to repeat are retried: everything the portal shed with 503
// (it did not handle them), and GETs and session authorisations after
// network errors or 502/504.
type RetryPolicy struct {
	// MaxAttempts per call, including the first. Default 6; 1 disables
	// retries.
	MaxAttempts int
	// Base and Max of the backoff. Defaults 500ms and 30s.
	Base, Max time.Duration
	// MaxRetryAfter caps a Retry-After the client is willing to wait.
	// Default 2 minutes.
	MaxRetryAfter time.Duration
}

// ConfigFromProfile returns the Config for an organisation profile.
func ConfigFromProfile(p *profile.Profile) Config {
	return Config{BaseURL: p.PortalURL, CAPEM: p.PortalCA}
}

// Client talks to one portal. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	hc    *http.Client
	cfg   Config
	cred  atomic.Pointer[string]
	randM sync.Mutex

	// offset is server minus local time in nanoseconds; hasOffset tells
	// whether any answer carried a Date header.
	offset    atomic.Int64
	hasOffset atomic.Bool
}

// New returns a client. It fails if the URL is not https or the CA is not
// a PEM certificate.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("portal url: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("portal url %q must be https://host", cfg.BaseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(cfg.CAPEM)) {
		return nil, errors.New("portal ca is not a PEM certificate")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	r := &cfg.Retry
	if r.MaxAttempts == 0 {
		r.MaxAttempts = 6
	}
	if r.Base == 0 {
		r.Base = 500 * time.Millisecond
	}
	if r.Max == 0 {
		r.Max = 30 * time.Second
	}
	if r.MaxRetryAfter == 0 {
		r.MaxRetryAfter = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = backoff.Sleep
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Dienstweg"
	}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{
			// Only the pinned CA: a system root or an intercepting proxy's
			// CA must not be able to impersonate the portal.
			RootCAs:    pool,
			MinVersion: tls.VersionTLS13,
		},
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	c := &Client{base: u, cfg: cfg, hc: &http.Client{Transport: tr}}
	c.SetCredential(cfg.Credential)
	return c, nil
}

// SetCredential sets the device credential sent as Bearer token.
func (c *Client) SetCredential(cred string) { c.cred.Store(&cred) }

// Close drops idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// ClockOffset is server time minus local time as of the last answer
// (one-second resolution), and whether any answer has been seen.
func (c *Client) ClockOffset() (time.Duration, bool) {
	return time.Duration(c.offset.Load()), c.hasOffset.Load()
}

// request describes one API call.
type request struct {
	op     string
	method string
	path   string
	body   any
	auth   bool
	header http.Header
	// repeatable marks a non-GET that is safe to send again after a
	// network error, because a repeat of one that was handled is
	// recognised (AuthoriseSession).
	repeatable bool
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// Bounds on what the client reads: the API's JSON answers are small.
const (
	maxJSONBody  = 1 << 20
	maxErrorBody = 64 << 10
)

// do runs req with retries and returns a 2xx or 304 answer.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	var payload []byte
	if req.body != nil {
		var err error
		if payload, err = json.Marshal(req.body); err != nil {
			return nil, &Error{Kind: KindProtocol, Op: req.op, Err: err, AttemptsLeft: -1}
		}
	}
	pol := c.cfg.Retry
	for attempt := 1; ; attempt++ {
		res, err := c.once(ctx, req, payload)
		if err == nil {
			return res, nil
		}
		var e *Error
		if !errors.As(err, &e) || !c.retryable(req, e) || attempt >= pol.MaxAttempts || ctx.Err() != nil {
			return nil, err
		}
		wait := c.retryWait(attempt, e.RetryAfter)
		if dl, ok := ctx.Deadline(); ok && c.cfg.Now().Add(wait).After(dl) {
			return nil, err
		}
		if serr := c.cfg.Sleep(ctx, wait); serr != nil {
			return nil, err
		}
	}
}

// retryWait is the wait before the attempt after attempt (1-based): full
// jitter over the exponential step, and at least the portal's Retry-After
// up to MaxRetryAfter.
func (c *Client) retryWait(attempt int, retryAfter time.Duration) time.Duration {
	pol := c.cfg.Retry
	p := backoff.Policy{Base: pol.Base, Max: pol.Max, Jitter: 1, Rand: c.rand}
	return p.Wait(attempt, min(retryAfter, pol.MaxRetryAfter))
}

// rand serialises calls of Config.Rand, which need not be safe for
// concurrent use.
func (c *Client) rand() float64 {
	c.randM.Lock()
	defer c.randM.Unlock()
	return c.cfg.Rand()
}

func (c *Client) retryable(req request, e *Error) bool {
	switch {
	case e.Kind == KindOverloaded:
		return true
	case req.method != http.MethodGet && req.method != http.MethodPut && !req.repeatable:
		return false // not safe to repeat
	case e.Kind == KindUnreachable:
		return true
	case e.Status == http.StatusBadGateway || e.Status == http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (c *Client) once(ctx context.Context, req request, payload []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, c.base.String()+req.path, body)
	if err != nil {
		return nil, &Error{Kind: KindProtocol, Op: req.op, Err: err, AttemptsLeft: -1}
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.cfg.UserAgent)
	if payload != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.auth {
		if cred := *c.cred.Load(); cred != "" {
			hr.Header.Set("Authorization", "Bearer "+cred)
		}
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, classifyTransport(req.op, err)
	}
	defer resp.Body.Close()
	c.noteDate(resp.Header)
	limit := int64(maxJSONBody)
	if resp.StatusCode >= 400 {
		limit = maxErrorBody
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, classifyTransport(req.op, err)
	}
	if int64(len(b)) > limit {
		return nil, &Error{Kind: KindProtocol, Op: req.op, Status: resp.StatusCode, Err: errors.New("answer too large"), AttemptsLeft: -1}
	}
	if resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
		return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
	}
	e := parseError(resp.StatusCode, resp.Header, b, c.cfg.Now())
	e.Op = req.op
	e.ClockOffset, _ = c.ClockOffset()
	return nil, e
}

func (c *Client) noteDate(h http.Header) {
	d := h.Get("Date")
	if d == "" {
		return
	}
	t, err := http.ParseTime(d)
	if err != nil {
		return
	}
	// Date is truncated to the second; comparing with the local clock
	// truncated the same way avoids a systematic half-second bias.
	off := t.Sub(c.cfg.Now().Truncate(time.Second))
	c.offset.Store(int64(off))
	c.hasOffset.Store(true)
}

// parseError turns an error answer into an *Error. It never fails: an
// answer it cannot read becomes KindServer or KindProtocol.
func parseError(status int, h http.Header, body []byte, now time.Time) *Error {
	e := &Error{Status: status, AttemptsLeft: -1}
	var ae api.Error
	if err := json.Unmarshal(body, &ae); err == nil && ae.Code != "" {
		e.Code, e.Message = ae.Code, ae.Message
		if k, ok := kindOfCode[ae.Code]; ok {
			e.Kind = k
		}
		if ae.AttemptsLeft != nil && *ae.AttemptsLeft >= 0 {
			e.AttemptsLeft = *ae.AttemptsLeft
		}
		if ae.LockedUntil != nil {
			e.LockedUntil = *ae.LockedUntil
		}
		if ae.AllowedFrom != nil {
			e.AllowedFrom = *ae.AllowedFrom
		}
		if ae.RetryAfterSeconds > 0 {
			e.RetryAfter = time.Duration(ae.RetryAfterSeconds) * time.Second
		}
	}
	if ra, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
		e.RetryAfter = ra
	}
	if e.Kind == KindUnknown {
		switch {
		case status == http.StatusServiceUnavailable:
			e.Kind = KindOverloaded
		case status == http.StatusNotFound:
			e.Kind = KindNotFound
		case status == http.StatusUnauthorized:
			e.Kind = KindDeviceUnauthorised
		case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
			// A reverse proxy in front of a portal that is down.
			e.Kind = KindUnreachable
		case status >= 500:
			e.Kind = KindServer
		default:
			e.Kind = KindProtocol
		}
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	if e.Kind == KindLocked && e.LockedUntil.IsZero() && e.RetryAfter > 0 {
		e.LockedUntil = now.Add(e.RetryAfter)
	}
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var secs int64
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && fmt.Sprint(secs) == v {
		if secs < 0 || secs > 24*3600 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// classifyTransport tells a distrusted certificate and a wrong clock
// apart from plain unreachability, because each needs a different action.
func classifyTransport(op string, err error) *Error {
	e := &Error{Kind: KindUnreachable, Op: op, Err: err, AttemptsLeft: -1}
	var (
		unknownAuth x509.UnknownAuthorityError
		invalid     x509.CertificateInvalidError
		hostErr     x509.HostnameError
		verifyErr   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		e.Kind = KindClock
	case errors.As(err, &unknownAuth), errors.As(err, &invalid), errors.As(err, &hostErr), errors.As(err, &verifyErr):
		e.Kind = KindCertificate
	}
	return e
}

// decode parses a JSON answer and checks it with valid.
func decode[T any](op string, res *response, valid func(*T) error) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(res.body, v); err != nil {
		return nil, &Error{Kind: KindProtocol, Op: op, Status: res.status, Err: fmt.Errorf("decoding answer: %w", err), AttemptsLeft: -1}
	}
	if valid != nil {
		if err := valid(v); err != nil {
			return nil, &Error{Kind: KindProtocol, Op: op, Status: res.status, Err: fmt.Errorf("invalid answer: %w", err), AttemptsLeft: -1}
		}
	}
	return v, nil
}
