package portal

import (
	"errors"
	"fmt"
	"math"
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
	KindPublicKeyInUse:         "public_key_in_use",
	KindNotFound:               "not_found",
	KindBadRequest:             "bad_request",
	KindOverloaded:             "overloaded",
	KindServer:                 "server_error",
	KindUnreachable:            "unreachable",
	KindCertificate:            "untrusted_certificate",
	KindClock:                  "clock_wrong",
	KindProtocol:               "protocol_error",
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
	api.CodePublicKeyInUse:    KindPublicKeyInUse,
	api.CodeNotFound:          KindNotFound,
	api.CodeOverloaded:        KindOverloaded,
	api.CodeInternal:          KindServer,

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

// LockedFor is how long a lock lasts from now, rounded up to minutes.
func (e *Error) LockedFor(now time.Time) time.Duration {
	if e.LockedUntil.IsZero() {
		return 0
	}
	d := e.LockedUntil.Sub(now)
	if d <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(d.Minutes())) * time.Minute
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
	ErrPublicKeyInUse         = &Error{Kind: KindPublicKeyInUse}
	ErrNotFound               = &Error{Kind: KindNotFound}
	ErrOverloaded             = &Error{Kind: KindOverloaded}
	ErrUnreachable            = &Error{Kind: KindUnreachable}
	ErrCertificate            = &Error{Kind: KindCertificate}
	ErrClock                  = &Error{Kind: KindClock}
)

// KindOf returns the Kind of err, KindUnknown if it is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// ClockSkewThreshold is the offset beyond which Message mentions the
// computer's clock. The Date header has one-second resolution.
const ClockSkewThreshold = 90 * time.Second

// Message turns err into a sentence for employees in lang ("de" or "en";
// anything else means "de"). now is used for lock durations.
func Message(err error, lang string, now time.Time) string {
	en := lang == "en"
	pick := func(de, english string) string {
		if en {
			return english
		}
		return de
	}
	var e *Error
	if !errors.As(err, &e) {
		return pick("Es ist ein unerwarteter Fehler aufgetreten.", "An unexpected error occurred.")
	}
	attempts := func() string {
		if e.AttemptsLeft < 0 {
			return ""
		}
		if e.AttemptsLeft == 1 {
			return pick(" Noch 1 Versuch.", " 1 attempt left.")
		}
		return fmt.Sprintf(pick(" Noch %d Versuche.", " %d attempts left."), e.AttemptsLeft)
	}
	switch e.Kind {
	case KindInvalidLogin:
		return pick("Benutzername oder Aktivierungscode stimmt nicht. Bitte prüfen Sie die Angaben aus dem Brief der IT.",
			"User name or activation code is not correct. Please check the details in the letter from IT.") + attempts()
	case KindActivationExpired:
		return pick("Der Aktivierungscode ist abgelaufen. Bitte fordern Sie bei der IT einen neuen Code an.",
			"The activation code has expired. Please ask IT for a new code.")
	case KindActivationUsed:
		return pick("Der Aktivierungscode wurde schon verwendet. Bitte fordern Sie bei der IT einen neuen Code an.",
			"The activation code has already been used. Please ask IT for a new code.")
	case KindEnrollmentExpired:
		return pick("Die Einrichtung ist abgelaufen. Bitte beginnen Sie noch einmal mit dem Aktivierungscode.",
			"The setup has expired. Please start again with the activation code.")
	case KindEnrollmentNotConfirmed:
		return pick("Bitte bestätigen Sie zuerst mit einem Code aus der Authenticator-App.",
			"Please confirm with a code from the authenticator app first.")
	case KindWrongCode:
		msg := pick("Der Bestätigungscode stimmt nicht. Bitte geben Sie den aktuellen Code aus der Authenticator-App ein.",
			"The confirmation code is not correct. Please enter the current code from the authenticator app.") + attempts()
		if e.ClockOffset > ClockSkewThreshold || e.ClockOffset < -ClockSkewThreshold {
			msg += pick(" Die Uhrzeit dieses Computers weicht ab. Bitte prüfen Sie auch die Uhrzeit auf Ihrem Smartphone.",
				" This computer's clock is off. Please also check the time on your smartphone.")
		}
		return msg
	case KindCodeReused:
		return pick("Dieser Code wurde gerade schon verwendet. Bitte warten Sie auf den nächsten Code in der Authenticator-App.",
			"This code has just been used. Please wait for the next code in the authenticator app.")
	case KindLocked:
		mins := max(1, int(e.LockedFor(now)/time.Minute))
		if mins == 1 {
			return pick("Zu viele falsche Codes. Die Anmeldung ist für 1 Minute gesperrt.",
				"Too many wrong codes. Sign-in is locked for 1 minute.")
		}
		return fmt.Sprintf(pick("Zu viele falsche Codes. Die Anmeldung ist für %d Minuten gesperrt.",
			"Too many wrong codes. Sign-in is locked for %d minutes."), mins)
	case KindRateLimited:
		secs := max(1, int(math.Ceil(e.RetryAfter.Seconds())))
		return fmt.Sprintf(pick("Aus Ihrem Netzwerk kamen zu viele falsche Aktivierungscodes. Bitte versuchen Sie es in %d Sekunden erneut.",
			"Too many wrong activation codes came from your network. Please try again in %d seconds."), secs)
	case KindDeviceUnauthorised:
		return pick("Dieses Gerät ist beim Portal nicht mehr angemeldet. Bitte wenden Sie sich an die IT.",
			"This device is no longer registered with the portal. Please contact IT.")
	case KindPublicKeyInUse:
		return pick("Dieses Gerät ist schon registriert. Bitte beginnen Sie die Einrichtung neu.",
			"This device is already registered. Please start the setup again.")
	case KindOverloaded:
		return pick("Das Portal ist gerade stark ausgelastet. Bitte versuchen Sie es in ein paar Minuten erneut.",
			"The portal is very busy right now. Please try again in a few minutes.")
	case KindUnreachable:
		return pick("Das Portal ist nicht erreichbar. Bitte prüfen Sie Ihre Internetverbindung.",
			"The portal cannot be reached. Please check your internet connection.")
	case KindCertificate:
		return pick("Die Verbindung zum Portal ist nicht vertrauenswürdig und wurde abgebrochen. Bitte wenden Sie sich an die IT.",
			"The connection to the portal is not trustworthy and was stopped. Please contact IT.")
	case KindClock:
		return pick("Datum oder Uhrzeit dieses Computers stimmen nicht. Bitte stellen Sie beides richtig ein.",
			"This computer's date or time is wrong. Please set them correctly.")
	default:
		return pick("Im Portal ist ein Fehler aufgetreten. Bitte versuchen Sie es später erneut.",
			"The portal reported an error. Please try again later.")
	}
}
