// Package localapi is the agent's local HTTP API on a per-user unix socket.
// Every other process — the ui windows, the command line and the tests —
// reads state and sends actions through it, never through the agent's
// internals (tailscale's LocalAPI shape). Its format is in package wire;
// this package only transports it.
package localapi

import (
	"errors"
	"net/http"

	"github.com/dienstweg/dienstweg/internal/localapi/wire"
	"github.com/dienstweg/dienstweg/internal/problem"
)

// The wire types, named here for the API's clients.
type (
	Event               = wire.Event
	StartRequest        = wire.StartRequest
	OpenWindowRequest   = wire.OpenWindowRequest
	MarkReadRequest     = wire.MarkReadRequest
	EnrollAction        = wire.EnrollAction
	UpdateChoiceRequest = wire.UpdateChoiceRequest
	SafeModeRequest     = wire.SafeModeRequest
	OpenDesktopRequest  = wire.OpenDesktopRequest
	DesktopOpened       = wire.DesktopOpened
	SettingRequest      = wire.SettingRequest
	ReportResult        = wire.ReportResult
	// Error is what a failed call returns, on both sides of the socket.
	Error = wire.Error
)

// Window names the ui role knows.
const (
	WindowStatus        = wire.WindowStatus
	WindowWizard        = wire.WindowWizard
	WindowAnnouncements = wire.WindowAnnouncements
	WindowSupport       = wire.WindowSupport
	WindowCode          = wire.WindowCode
	WindowQuit          = wire.WindowQuit
)

// Windows lists the valid window names.
func Windows() []string { return wire.Windows() }

// ValidWindow reports whether name is a window of the ui role.
func ValidWindow(name string) bool { return wire.ValidWindow(name) }

// Event types.
const (
	EventState = wire.EventState
	EventRaise = wire.EventRaise
	EventClose = wire.EventClose
)

// Wizard actions for POST /v1/enroll.
const (
	EnrollNext         = wire.EnrollNext
	EnrollBack         = wire.EnrollBack
	EnrollToggleSecret = wire.EnrollToggleSecret
	EnrollSignIn       = wire.EnrollSignIn
	EnrollCode         = wire.EnrollCode
	EnrollRetry        = wire.EnrollRetry
	EnrollRestart      = wire.EnrollRestart
	EnrollNewSecret    = wire.EnrollNewSecret
)

// Answers to "install the update now?".
const (
	UpdateNow          = wire.UpdateNow
	UpdateAtSessionEnd = wire.UpdateAtSessionEnd
)

type errorBody = wire.ErrorBody

// kindStatus is the one place where a failure's kind becomes an HTTP
// status: domain packages return problem errors and never pick one.
var kindStatus = map[problem.Kind]int{
	problem.Invalid:      http.StatusBadRequest,
	problem.Denied:       http.StatusUnauthorized,
	problem.Forbidden:    http.StatusForbidden,
	problem.Conflict:     http.StatusConflict,
	problem.Limited:      http.StatusTooManyRequests,
	problem.Unavailable:  http.StatusServiceUnavailable,
	problem.NotSupported: http.StatusNotImplemented,
	problem.NotSetUp:     http.StatusPreconditionFailed,
	problem.Internal:     http.StatusInternalServerError,
}

// StatusOf is the HTTP status that a failure of kind k answers with.
func StatusOf(k problem.Kind) int {
	if st, ok := kindStatus[k]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// AsError turns any error into the wire's *Error: a problem error by its
// kind, code and message; an *Error as it is (the API's own); anything
// else as an internal error.
func AsError(err error) *Error {
	if p, ok := problem.As(err); ok {
		msg := p.CodeOrKey()
		if p.Err != nil {
			msg = p.Err.Error() // the code is in Code already
		}
		return &Error{Status: StatusOf(p.Kind), Code: p.CodeOrKey(), Key: p.Msg.Key, Args: p.Msg.Args, Message: msg}
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
}
