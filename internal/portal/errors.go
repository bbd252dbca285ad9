package portal

import (
	"errors"
	"fmt"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// Kind classifies what went wrong, in terms the UI can explain.
type Kind int

// Kinds of errors. The zero Kind is KindUnknown.
const (
	KindUnknown Kind = iota
	// KindInvalidLogin: user name or activation code is wrong (the portal
	// does not say which). AttemptsLeft may be set.
	KindInvalidLogin
	KindActivationExpired
	KindActivationUsed
	// KindEnrollmentExpired: start again with the activation code.
	KindEnrollmentExpired
	KindEnrollmentNotConfirmed
	// KindWrongCode: the authenticator code is wrong. AttemptsLeft is set.
	KindWrongCode
	// KindCodeReused: this code was already accepted; wait for the next.
	KindCodeReused
	// KindLocked: too many wrong codes. LockedUntil is set.
	KindLocked
	// KindRateLimited: too many wrong activation codes came from this
	// network (any user name). RetryAfter is set.
	KindRateLimited
	// KindDeviceUnauthorised: the device credential is unknown or revoked.
	KindDeviceUnauthorised
	// KindUserDisabled: IT disabled the user's account (e.g. they left
	// the directory); only IT can change that.
	KindUserDisabled
	KindPublicKeyInUse
	KindNotFound
	// KindBadRequest: the portal rejected the request as malformed (a bug).
	KindBadRequest
	// KindOverloaded: the portal shed the request and retries ran out.
	// RetryAfter is set.
	KindOverloaded
	// KindServer: the portal failed internally.
	KindServer
	// KindUnreachable: no connection (no internet, DNS, timeout).
	KindUnreachable
	// KindCertificate: the portal's certificate is not signed by the
	// pinned CA. Never retried.
	KindCertificate
	// KindClock: the certificate looked expired or not yet valid, which
	// almost always means this computer's clock is wrong.
	KindClock
	// KindProtocol: the answer could not be understood.
	KindProtocol
	// KindOutsideHours: the organisation's working hours allow no home
	// office now, or no more time today. AllowedFrom is set.
	KindOutsideHours
	// KindSupportCodeTaken: another device sent reports with this
	// device's support code first; make a new code and send again.
	KindSupportCodeTaken
)

var kindNames = map[Kind]string{
	KindUnknown:                "unknown",
	KindInvalidLogin:           "invalid_login",
	KindActivationExpired:      "activation_code_expired",
	KindActivationUsed:         "activation_code_used",
	KindEnrollmentExpired:      "enrollment_expired",
	KindEnrollmentNotConfirmed: "enrollment_not_confirmed",
	KindWrongCode:              "wrong_code",
	KindCodeReused:             "code_reused",
	KindLocked:                 "locked",
	KindRateLimited:            "rate_limited",
	KindDeviceUnauthorised:     "device_unauthorised",
	KindUserDisabled:           "user_disabled",
	KindPublicKeyInUse:         "public_key_in_use",
	KindNotFound:               "not_found",
	KindBadRequest:             "bad_request",
	KindOverloaded:             "overloaded",
	KindServer:                 "server_error",
	KindUnreachable:            "unreachable",
	KindCertificate:            "untrusted_certificate",
	KindClock:                  "clock_wrong",
	KindProtocol:               "protocol_error",
	KindOutsideHours:           "outside_hours",
	KindSupportCodeTaken:       "support_code_taken",
}

// String is a stable identifier, usable as a translation key.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// kindOfCode maps the API's error codes.
var kindOfCode = map[string]Kind{
	api.CodeBadRequest:        KindBadRequest,
	api.CodeMalformedJSON:     KindBadRequest,
	api.CodeBodyTooLarge:      KindBadRequest,
	api.CodeInvalidLogin:      KindInvalidLogin,
	api.CodeActivationExpired: KindActivationExpired,
	api.CodeActivationUsed:    KindActivationUsed,
	api.CodeEnrollmentExpired: KindEnrollmentExpired,
	api.CodeEnrollmentPending: KindEnrollmentNotConfirmed,
	api.CodeWrongCode:         KindWrongCode,
	api.CodeCodeReused:        KindCodeReused,
	api.CodeLocked:            KindLocked,
	api.CodeRateLimited:       KindRateLimited,
	api.CodeUnauthorised:      KindDeviceUnauthorised,
	api.CodeUserDisabled:      KindUserDisabled,
	api.CodePublicKeyInUse:    KindPublicKeyInUse,
	api.CodeNotFound:          KindNotFound,
	api.CodeOverloaded:        KindOverloaded,
	api.CodeInternal:          KindServer,
	api.CodeOutsideHours:      KindOutsideHours,
	api.CodeSupportCodeTaken:  KindSupportCodeTaken,

	// A body too slow to arrive says more about the line than the request.
	api.CodeBodyTimeout:          KindUnreachable,
	api.CodeUnsupportedMediaType: KindBadRequest,
}

// Error is every error the client returns for a failed call. Use
// errors.As to read the details or errors.Is with the Err* values to test
// the kind.
type Error struct {
	Kind Kind
	// Op is what the client was doing, e.g. "authorising session".
	Op string
	// Status is the HTTP status, 0 if there was no answer.
	Status int
	// Code and Message are the portal's (English, for logs).
	Code    string
	Message string
	// AttemptsLeft before the lock; -1 if unknown.
	AttemptsLeft int
	// LockedUntil is set for KindLocked.
	LockedUntil time.Time
	// AllowedFrom is set for KindOutsideHours: when home office may
	// start again.
	AllowedFrom time.Time
	// RetryAfter is the portal's Retry-After, if it sent one.
	RetryAfter time.Duration
	// ClockOffset is server time minus local time from the answer's Date
	// header, zero if unknown.
	ClockOffset time.Duration
	// Err is the underlying error (network, TLS, decoding), if any.
	Err error
}

func (e *Error) Error() string {
	msg := e.Kind.String()
	if e.Message != "" {
		msg += ": " + e.Message
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Status != 0 {
		msg = fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
	}
	if e.Op != "" {
		msg = e.Op + ": " + msg
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error of the same Kind, so
// errors.Is(err, portal.ErrWrongCode) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Op == "" && t.Status == 0
}

// Sentinels for errors.Is.
var (
	ErrInvalidLogin           = &Error{Kind: KindInvalidLogin}
	ErrActivationExpired      = &Error{Kind: KindActivationExpired}
	ErrActivationUsed         = &Error{Kind: KindActivationUsed}
	ErrEnrollmentExpired      = &Error{Kind: KindEnrollmentExpired}
	ErrEnrollmentNotConfirmed = &Error{Kind: KindEnrollmentNotConfirmed}
	ErrWrongCode              = &Error{Kind: KindWrongCode}
	ErrCodeReused             = &Error{Kind: KindCodeReused}
	ErrLocked                 = &Error{Kind: KindLocked}
	ErrRateLimited            = &Error{Kind: KindRateLimited}
	ErrDeviceUnauthorised     = &Error{Kind: KindDeviceUnauthorised}
	ErrUserDisabled           = &Error{Kind: KindUserDisabled}
	ErrPublicKeyInUse         = &Error{Kind: KindPublicKeyInUse}
	ErrNotFound               = &Error{Kind: KindNotFound}
	ErrOverloaded             = &Error{Kind: KindOverloaded}
	ErrUnreachable            = &Error{Kind: KindUnreachable}
	ErrCertificate            = &Error{Kind: KindCertificate}
	ErrClock                  = &Error{Kind: KindClock}
	ErrOutsideHours           = &Error{Kind: KindOutsideHours}
)

// KindOf returns the Kind of err, KindUnknown if it is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}
