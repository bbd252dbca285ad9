package portal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal/api"
	"github.com/dienstweg/dienstweg/internal/redact"
)

// Health asks the portal whether it is up and returns its time.
func (c *Client) Health(ctx context.Context) (time.Time, error) {
	res, err := c.do(ctx, request{op: "checking portal", method: http.MethodGet, path: "/api/v1/health"})
	if err != nil {
		return time.Time{}, err
	}
	h, err := decode[api.Health]("checking portal", res, nil)
	if err != nil {
		return time.Time{}, err
	}
	return h.Time, nil
}

// StartEnrollment signs in with the user name and activation code from
// IT's letter and returns the new authenticator secret.
func (c *Client) StartEnrollment(ctx context.Context, user, activationCode string) (*Enrollment, error) {
	const op = "starting enrollment"
	res, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "/api/v1/enrollments",
		body: api.EnrollmentStartRequest{User: user, ActivationCode: activationCode}})
	if err != nil {
		return nil, err
	}
	e, err := decode(op, res, validEnrollment)
	if err == nil {
		// The authenticator secret is in memory from here on.
		redact.Register(e.Secret)
	}
	return e, err
}

func validEnrollment(e *Enrollment) error {
	if e.EnrollmentID == "" || e.Secret == "" {
		return errors.New("enrollment id or secret missing")
	}
	u, err := url.Parse(e.OTPAuthURI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		return fmt.Errorf("otpauth uri %q is not a totp uri", e.OTPAuthURI)
	}
	return nil
}

// ConfirmEnrollment confirms with a code from the authenticator app.
// Repeating it after a lost answer is safe.
func (c *Client) ConfirmEnrollment(ctx context.Context, enrollmentID, code string) (*Confirmation, error) {
	const op = "confirming enrollment"
	res, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "/api/v1/enrollments/confirm",
		body: api.EnrollmentConfirmRequest{EnrollmentID: enrollmentID, Code: code}})
	if err != nil {
		return nil, err
	}
	return decode(op, res, func(v *Confirmation) error {
		if v.User == "" {
			return errors.New("user missing")
		}
		return nil
	})
}

// RegisterDevice registers this device's WireGuard public key (standard
// base64 of 32 bytes) for a confirmed enrollment. The answer's Credential
// is shown only once; the client also starts using it at once. Repeating
// the call with the same enrollment replaces the earlier credential.
func (c *Client) RegisterDevice(ctx context.Context, enrollmentID, publicKey, name string) (*Registration, error) {
	const op = "registering device"
	res, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "/api/v1/devices",
		body: api.DeviceRegisterRequest{EnrollmentID: enrollmentID, PublicKey: publicKey, Name: name}})
	if err != nil {
		return nil, err
	}
	reg, err := decode(op, res, func(v *Registration) error {
		if v.DeviceID == "" || v.Credential == "" {
			return errors.New("device id or credential missing")
		}
		return validTunnel(&v.Tunnel)
	})
	if err != nil {
		return nil, err
	}
	c.SetCredential(reg.Credential)
	return reg, nil
}

func validTunnel(t *Tunnel) error {
	if !t.Address.IsValid() {
		return errors.New("tunnel address missing")
	}
	if err := validGateway(api.Gateway{Endpoint: t.GatewayEndpoint, PublicKey: t.GatewayPublicKey}); err != nil {
		return err
	}
	for i, g := range t.Gateways {
		if err := validGateway(g); err != nil {
			return fmt.Errorf("gateway %d: %w", i+1, err)
		}
	}
	if slices.ContainsFunc(t.AllowedIPs, func(p netip.Prefix) bool { return !p.IsValid() }) {
		return errors.New("invalid allowed ip")
	}
	if t.KeepaliveSeconds < 0 || t.KeepaliveSeconds > 65535 {
		return errors.New("keepalive out of range")
	}
	return nil
}

func validGateway(g api.Gateway) error {
	if _, _, err := net.SplitHostPort(g.Endpoint); err != nil {
		return fmt.Errorf("gateway endpoint: %w", err)
	}
	k, err := base64.StdEncoding.DecodeString(g.PublicKey)
	if err != nil || len(k) != 32 {
		return errors.New("gateway public key is not a base64 32-byte key")
	}
	return nil
}

// Device returns this device's registration and current tunnel settings.
func (c *Client) Device(ctx context.Context) (*DeviceInfo, error) {
	const op = "reading device"
	res, err := c.do(ctx, request{op: op, method: http.MethodGet, path: "/api/v1/device", auth: true})
	if err != nil {
		return nil, err
	}
	return decode(op, res, func(v *DeviceInfo) error { return validTunnel(&v.Tunnel) })
}

// AuthoriseSession admits this device's tunnel peer for the working day
// with a code from the authenticator app.
func (c *Client) AuthoriseSession(ctx context.Context, code string) (*Session, error) {
	const op = "authorising session"
	// Repeatable: when a portal instance dies with the request (the
	// balancer sends the retry to another), a repeat either is the first
	// to be handled or finds the code spent and the session on.
	res, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "/api/v1/session", auth: true,
		body: api.SessionRequest{Code: code}, repeatable: true})
	if errors.Is(err, ErrCodeReused) {
		// The code may have been accepted on an attempt whose answer was
		// lost; if the session is on, that is success.
		if s, serr := c.SessionStatus(ctx); serr == nil && s.Authorised {
			return s, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return decode(op, res, validSession)
}

// ExtendSession lengthens the authorisation that holds with a new code
// from the authenticator app; the portal decides by how much (its
// working-hours rules). A device that is not authorised gets the day's
// authorisation, as with AuthoriseSession.
func (c *Client) ExtendSession(ctx context.Context, code string) (*Session, error) {
	const op = "extending session"
	res, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "/api/v1/session", auth: true,
		body: api.SessionRequest{Code: code, Extend: true}})
	if err != nil {
		return nil, err
	}
	return decode(op, res, validSession)
}

func validSession(s *Session) error {
	if s.Authorised && s.Until == nil {
		return errors.New("authorised without end")
	}
	return nil
}

// SessionStatus returns whether this device is authorised, and until when.
func (c *Client) SessionStatus(ctx context.Context) (*Session, error) {
	const op = "reading session"
	res, err := c.do(ctx, request{op: op, method: http.MethodGet, path: "/api/v1/session", auth: true})
	if err != nil {
		return nil, err
	}
	return decode(op, res, validSession)
}

// EndSession withdraws today's authorisation ("End home office").
func (c *Client) EndSession(ctx context.Context) (*Session, error) {
	const op = "ending session"
	res, err := c.do(ctx, request{op: op, method: http.MethodDelete, path: "/api/v1/session", auth: true})
	if err != nil {
		return nil, err
	}
	return decode(op, res, validSession)
}

// Announcements is the answer of the Announcements call.
type Announcements struct {
	// NotModified is true when the portal answered 304 to the given ETag;
	// Items is then nil and the caller keeps what it has.
	NotModified bool
	Items       []Announcement
	// ETag to send next time.
	ETag string
}

// Announcements fetches the announcements visible to this device (or the
// public ones when no credential is set). Pass the ETag of the last answer
// to get a cheap 304.
func (c *Client) Announcements(ctx context.Context, etag string) (*Announcements, error) {
	const op = "reading announcements"
	req := request{op: op, method: http.MethodGet, path: "/api/v1/announcements", auth: true}
	if etag != "" {
		req.header = http.Header{"If-None-Match": {etag}}
	}
	res, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &Announcements{ETag: res.header.Get("ETag")}
	if res.status == http.StatusNotModified {
		out.NotModified = true
		if out.ETag == "" {
			out.ETag = etag
		}
		return out, nil
	}
	list, err := decode(op, res, func(v *api.Announcements) error {
		for _, a := range v.Announcements {
			if a.ID == "" {
				return errors.New("announcement without id")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Items = list.Announcements
	if out.Items == nil {
		out.Items = []Announcement{}
	}
	return out, nil
}

// Release is a channel's current manifest and its minisign signature,
// byte for byte as published. Verify before trusting anything in it.
type Release struct {
	Manifest  []byte
	Signature []byte
}

// ReleaseManifest fetches the current manifest and signature of channel.
func (c *Client) ReleaseManifest(ctx context.Context, channel string) (*Release, error) {
	const op = "reading release manifest"
	base := "/api/v1/releases/" + url.PathEscape(channel)
	m, err := c.do(ctx, request{op: op, method: http.MethodGet, path: base + "/manifest"})
	if err != nil {
		return nil, err
	}
	s, err := c.do(ctx, request{op: op, method: http.MethodGet, path: base + "/manifest.minisig"})
	if err != nil {
		return nil, err
	}
	return &Release{Manifest: m.body, Signature: s.body}, nil
}

// OpenReleaseFile starts downloading a published file. The caller closes
// the body and verifies the content against the signed manifest. size is
// -1 if unknown.
func (c *Client) OpenReleaseFile(ctx context.Context, channel, name string) (body io.ReadCloser, size int64, err error) {
	const op = "downloading release file"
	path := "/api/v1/releases/" + url.PathEscape(channel) + "/files/" + url.PathEscape(name)
	for attempt := 1; ; attempt++ {
		hr, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+path, nil)
		if err != nil {
			return nil, 0, &Error{Kind: KindProtocol, Op: op, Err: err, AttemptsLeft: -1}
		}
		hr.Header.Set("User-Agent", c.cfg.UserAgent)
		resp, err := c.hc.Do(hr)
		var e *Error
		if err != nil {
			e = classifyTransport(op, err)
		} else {
			c.noteDate(resp.Header)
			if resp.StatusCode == http.StatusOK {
				return resp.Body, resp.ContentLength, nil
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			resp.Body.Close()
			e = parseError(resp.StatusCode, resp.Header, b, c.cfg.Now())
			e.Op = op
		}
		if !c.retryable(request{method: http.MethodGet}, e) || attempt >= c.cfg.Retry.MaxAttempts {
			return nil, 0, e
		}
		if err := c.cfg.Sleep(ctx, c.retryWait(attempt, e.RetryAfter)); err != nil {
			return nil, 0, e
		}
	}
}

// SendReport stores this device's report for the IT service at the
// portal, replacing the one before, and returns when the portal received
// it. Repeating it is safe (PUT), so it is retried like a read.
func (c *Client) SendReport(ctx context.Context, r api.DeviceReport) (time.Time, error) {
	const op = "sending report"
	res, err := c.do(ctx, request{op: op, method: http.MethodPut, path: "/api/v1/device/report", auth: true, body: r})
	if err != nil {
		return time.Time{}, err
	}
	rc, err := decode(op, res, func(v *api.ReportReceipt) error {
		if v.ReceivedAt.IsZero() {
			return errors.New("received_at missing")
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	return rc.ReceivedAt, nil
}
