// Package api holds the wire types of the portal HTTP API described in
// docs/api/openapi.yaml. Both the client (internal/portal) and the reference
// server (internal/portalsrv) use them, so a field renamed on one side cannot
// silently diverge from the other; a test compares them with the spec.
package api

import (
	"net/netip"
	"time"
)

// Prefix of every route. A breaking change gets a new version prefix.
const Prefix = "/api/v1"

// Routes are the operations of the API as Go 1.22 ServeMux patterns. The
// server registers exactly these and a test checks them against the spec.
const (
	RouteHealth            = "GET /api/v1/health"
	RouteEnrollmentStart   = "POST /api/v1/enrollments"
	RouteEnrollmentConfirm = "POST /api/v1/enrollments/confirm"
	RouteDeviceRegister    = "POST /api/v1/devices"
	RouteDeviceGet         = "GET /api/v1/device"
	RouteSessionAuthorise  = "POST /api/v1/session"
	RouteSessionStatus     = "GET /api/v1/session"
	RouteSessionEnd        = "DELETE /api/v1/session"
	RouteDeviceReport      = "PUT /api/v1/device/report"
	RouteAnnouncements     = "GET /api/v1/announcements"
	RouteReleaseManifest   = "GET /api/v1/releases/{channel}/manifest"
	RouteReleaseSignature  = "GET /api/v1/releases/{channel}/manifest.minisig"
	RouteReleaseFile       = "GET /api/v1/releases/{channel}/files/{name}"
)

// AllRoutes lists every route above.
var AllRoutes = []string{
	RouteHealth,
	RouteEnrollmentStart,
	RouteEnrollmentConfirm,
	RouteDeviceRegister,
	RouteDeviceGet,
	RouteSessionAuthorise,
	RouteSessionStatus,
	RouteSessionEnd,
	RouteDeviceReport,
	RouteAnnouncements,
	RouteReleaseManifest,
	RouteReleaseSignature,
	RouteReleaseFile,
}

// Error codes in Error.Code. They are stable identifiers; clients map them
// to their own texts. Keep in sync with ErrorCode in the spec.
const (
	CodeBadRequest        = "bad_request"
	CodeMalformedJSON     = "malformed_json"
	CodeBodyTooLarge      = "body_too_large"
	CodeInvalidLogin      = "invalid_login"
	CodeActivationExpired = "activation_code_expired"
	CodeActivationUsed    = "activation_code_used"
	CodeEnrollmentExpired = "enrollment_expired"
	CodeEnrollmentPending = "enrollment_not_confirmed"
	CodeWrongCode         = "wrong_code"
	CodeCodeReused        = "code_reused"
	CodeLocked            = "locked"
	CodeRateLimited       = "rate_limited"
	CodeUnauthorised      = "device_unauthorised"
	CodePublicKeyInUse    = "public_key_in_use"
	CodeNotFound          = "not_found"
	CodeOverloaded        = "overloaded"
	CodeInternal          = "internal"
	// CodeOutsideHours: the organisation's working hours allow no home
	// office now, or no more time today; AllowedFrom says when again.
	CodeOutsideHours = "outside_hours"
)

// CodeUserDisabled: IT disabled the user (e.g. gone from the directory);
// no enrollment, device or session until IT enables it again (403).
const CodeUserDisabled = "user_disabled"

// CodeSupportCodeTaken: another device already sent reports with this
// support code, and a code belongs to the first device that sent it
// (409). The client makes itself a new code and asks the employee to
// send again.
const CodeSupportCodeTaken = "support_code_taken"

// Error codes of bodies refused before they reach an operation.
const (
	// CodeBodyTimeout: the request body did not arrive in time (408).
	CodeBodyTimeout = "body_timeout"
	// CodeUnsupportedMediaType: a request body that is not
	// application/json (415).
	CodeUnsupportedMediaType = "unsupported_media_type"
)

// AllCodes lists every error code above.
var AllCodes = []string{
	CodeBadRequest, CodeMalformedJSON, CodeBodyTooLarge, CodeInvalidLogin,
	CodeActivationExpired, CodeActivationUsed, CodeEnrollmentExpired,
	CodeEnrollmentPending, CodeWrongCode, CodeCodeReused, CodeLocked,
	CodeRateLimited, CodeUnauthorised, CodePublicKeyInUse, CodeNotFound, CodeOverloaded,
	CodeInternal, CodeBodyTimeout, CodeUnsupportedMediaType, CodeOutsideHours, CodeUserDisabled,
	CodeSupportCodeTaken,
}

// Error is the body of every 4xx and 5xx answer.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
	// AttemptsLeft is set with wrong_code and invalid_login: how many more
	// failures lock the account.
	AttemptsLeft *int `json:"attempts_left,omitempty"`
	// LockedUntil is set with locked.
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	// RetryAfterSeconds repeats the Retry-After header of 429 and 503.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
	// AllowedFrom is set with outside_hours: the next moment home
	// office may start.
	AllowedFrom *time.Time `json:"allowed_from,omitempty"`
}

// Health is the answer of GET /health.
type Health struct {
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
}

// EnrollmentStartRequest begins enrollment with the data from IT's letter.
type EnrollmentStartRequest struct {
	User           string `json:"user"`
	ActivationCode string `json:"activation_code"`
}

// EnrollmentStartResponse carries the new authenticator secret. The factor
// is unusable until confirmed.
type EnrollmentStartResponse struct {
	EnrollmentID string    `json:"enrollment_id"`
	OTPAuthURI   string    `json:"otpauth_uri"`
	Secret       string    `json:"secret"`
	Issuer       string    `json:"issuer"`
	Account      string    `json:"account"`
	DisplayName  string    `json:"display_name"`
	ExpiresAt    time.Time `json:"expires_at"`
	ServerTime   time.Time `json:"server_time"`
}

// EnrollmentConfirmRequest proves the authenticator app has the secret.
type EnrollmentConfirmRequest struct {
	EnrollmentID string `json:"enrollment_id"`
	Code         string `json:"code"`
}

// EnrollmentConfirmResponse says the factor is active.
type EnrollmentConfirmResponse struct {
	User        string    `json:"user"`
	DisplayName string    `json:"display_name"`
	EnrolledAt  time.Time `json:"enrolled_at"`
	// RegisterBefore is when the enrollment id stops being accepted for
	// device registration.
	RegisterBefore time.Time `json:"register_before"`
}

// DeviceRegisterRequest registers this device's WireGuard public key.
type DeviceRegisterRequest struct {
	EnrollmentID string `json:"enrollment_id"`
	// PublicKey is the standard base64 encoding of the 32-byte key.
	PublicKey string `json:"public_key"`
	// Name is a label for IT, e.g. the host name.
	Name string `json:"name,omitempty"`
}

// Tunnel is what the client needs to configure its WireGuard interface.
type Tunnel struct {
	Address       netip.Prefix `json:"address"`
	DNS           []netip.Addr `json:"dns"`
	SearchDomains []string     `json:"search_domains"`
	// GatewayEndpoint and GatewayPublicKey are the first gateway, the
	// only one a client before issue 18 knows.
	GatewayEndpoint  string         `json:"gateway_endpoint"`
	GatewayPublicKey string         `json:"gateway_public_key"`
	AllowedIPs       []netip.Prefix `json:"allowed_ips"`
	// KeepaliveSeconds is the persistent keepalive; 0 means off.
	KeepaliveSeconds int `json:"keepalive_seconds,omitempty"`
	// Gateways are all of the organisation's gateways, the first one
	// included, in the order a device tries them. A portal before issue
	// 18 sends none: then the first gateway is the only one.
	Gateways []Gateway `json:"gateways,omitempty"`
}

// Gateway is one WireGuard gateway of the organisation. Every gateway
// admits every authorised device, so a device may use any of them.
type Gateway struct {
	// Endpoint is host:port of the gateway's UDP listener.
	Endpoint string `json:"endpoint"`
	// PublicKey is its base64 WireGuard public key.
	PublicKey string `json:"public_key"`
}

// DeviceRegisterResponse returns the credential once; the server keeps only
// its hash.
type DeviceRegisterResponse struct {
	DeviceID   string `json:"device_id"`
	Credential string `json:"credential"`
	Tunnel     Tunnel `json:"tunnel"`
	// AuthorisedUntil is set when registration right after confirmation
	// already admitted the device for today, so the wizard can test the
	// connection without asking for another code.
	AuthorisedUntil *time.Time `json:"authorised_until,omitempty"`
}

// Device is the answer of GET /device.
type Device struct {
	DeviceID    string `json:"device_id"`
	User        string `json:"user"`
	DisplayName string `json:"display_name"`
	Name        string `json:"name,omitempty"`
	PublicKey   string `json:"public_key"`
	Tunnel      Tunnel `json:"tunnel"`
}

// SessionRequest asks to admit this device's tunnel peer.
type SessionRequest struct {
	Code string `json:"code"`
	// Extend asks to lengthen an authorisation that holds, rather than
	// to start the day's (which never shortens one that holds).
	Extend bool `json:"extend,omitempty"`
}

// Session is the authorisation state of this device.
type Session struct {
	Authorised bool       `json:"authorised"`
	Until      *time.Time `json:"until,omitempty"`
	ServerTime time.Time  `json:"server_time"`
	// Hours are when this device's user may start home office, by the
	// portal's working-hours rules; absent when no rule limits the user,
	// and from portals before issue 17. Absent means: offer the start,
	// the portal's answer to it decides.
	Hours *Hours `json:"hours,omitempty"`
}

// Hours are the times one user may start home office. The portal works
// them out in its own time zone, so a client needs no time-zone rules.
type Hours struct {
	// Starts are the periods in which a start is possible, in order,
	// from the one under way (if any) up to Through.
	Starts []Period `json:"starts"`
	// Through: Starts lists every period before this moment. After it
	// the client knows nothing until it asks again.
	Through time.Time `json:"through"`
	// Weekdays ("mo" … "so"), From and Until ("HH:MM" in the
	// organisation's time zone, "24:00" for midnight) are the rule, for
	// people to read: „Mo–Fr 06:00–21:00 Uhr“.
	Weekdays []string `json:"weekdays"`
	From     string   `json:"from"`
	Until    string   `json:"until"`
}

// Period is a span of time [From, Until).
type Period struct {
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
}

// Severity of an announcement.
const (
	SeverityInfo        = "info"
	SeverityMaintenance = "maintenance"
	SeverityOutage      = "outage"
)

// Text is a text in German and English.
type Text struct {
	DE string `json:"de"`
	EN string `json:"en"`
}

// Announcement is a message from IT.
type Announcement struct {
	ID         string    `json:"id"`
	Severity   string    `json:"severity"`
	Title      Text      `json:"title"`
	Body       Text      `json:"body"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	// Audience is "all" or a list of group names.
	Audience  []string  `json:"audience"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Announcements is the answer of GET /announcements.
type Announcements struct {
	Announcements []Announcement `json:"announcements"`
}

// DeviceReport is this device's state for the IT service, sent only when
// the employee presses "An den IT-Service senden". It holds no secret:
// the client renders its texts and redacts them before sending.
type DeviceReport struct {
	// SupportCode is what the employee reads out (DW-XXXX-XX). The portal
	// cannot derive it: it is a keyed hash of the machine id, which never
	// leaves the device.
	SupportCode string `json:"support_code"`
	Version     string `json:"version"`
	// OS is the operating system and architecture, e.g. "linux/amd64".
	OS string `json:"os"`
	// TunnelMode is how home office reaches the office: "system" (every
	// program), "userspace" (proxy only), or "" if not known yet.
	TunnelMode string `json:"tunnel_mode,omitempty"`
	// Session is the state the tray shows, e.g. "connected".
	Session string `json:"session"`
	// Headline is that state in words, as the employee saw it.
	Headline string `json:"headline,omitempty"`
	// Screen is the screen code (E1–E7, C1, S1, A1, H1) shown last before
	// the help window, and ScreenAt when it opened.
	Screen   string     `json:"screen,omitempty"`
	ScreenAt *time.Time `json:"screen_at,omitempty"`
	// Health is the chain of checks, in order.
	Health []ReportLink `json:"health"`
	// Errors are the recent errors, newest first.
	Errors []ReportError `json:"errors"`
	// CreatedAt is the device's clock when it made the report.
	CreatedAt time.Time `json:"created_at"`
}

// ReportLink is one link of the health chain in a report.
type ReportLink struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// ReportError is one recent error in a report.
type ReportError struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// ReportReceipt answers a report.
type ReportReceipt struct {
	ReceivedAt time.Time `json:"received_at"`
}
