// Package localapi is the agent's local HTTP API on a per-user unix socket.
// Every other process — the ui windows, the command line and the tests —
// reads state and sends actions through it, never through the agent's
// internals (tailscale's LocalAPI shape).
package localapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Window names the ui role knows.
const (
	WindowStatus        = "status"
	WindowWizard        = "wizard"
	WindowAnnouncements = "announcements"
	WindowSupport       = "support"
	WindowCode          = "code"
)

// Windows lists the valid window names.
func Windows() []string {
	return []string{WindowStatus, WindowWizard, WindowAnnouncements, WindowSupport, WindowCode}
}

// ValidWindow reports whether name is a window of the ui role.
func ValidWindow(name string) bool {
	for _, w := range Windows() {
		if w == name {
			return true
		}
	}
	return false
}

// Event is one line of the watch stream.
type Event struct {
	// Type is "state" (State is set) or "raise" (bring the window to the
	// front) or "close" (the agent asks the window to close).
	Type  string          `json:"type"`
	State *state.Snapshot `json:"state,omitempty"`
}

// Event types.
const (
	EventState = "state"
	EventRaise = "raise"
	EventClose = "close"
)

// StartRequest is the body of POST /v1/session/start.
type StartRequest struct {
	Code string `json:"code"`
}

// OpenWindowRequest is the body of POST /v1/windows/open.
type OpenWindowRequest struct {
	Window string `json:"window"`
}

// MarkReadRequest is the body of POST /v1/announcements/read.
type MarkReadRequest struct {
	IDs []string `json:"ids,omitempty"`
	All bool     `json:"all,omitempty"`
}

// Wizard actions for POST /v1/enroll.
const (
	EnrollNext         = "next"
	EnrollBack         = "back"
	EnrollToggleSecret = "toggle_secret"
	EnrollSignIn       = "sign_in"
	EnrollCode         = "code"
	EnrollRetry        = "retry"
	EnrollRestart      = "restart"
)

func validEnrollAction(a string) bool {
	switch a {
	case EnrollNext, EnrollBack, EnrollToggleSecret, EnrollSignIn, EnrollCode, EnrollRetry, EnrollRestart:
		return true
	}
	return false
}

// EnrollAction is the body of POST /v1/enroll: one action of the setup
// wizard with its inputs.
type EnrollAction struct {
	Action         string `json:"action"`
	User           string `json:"user,omitempty"`
	ActivationCode string `json:"activation_code,omitempty"`
	Code           string `json:"code,omitempty"`
}

// Answers to "install the update now?".
const (
	UpdateNow          = "now"
	UpdateAtSessionEnd = "session_end"
)

// UpdateChoiceRequest is the body of POST /v1/update/choose.
type UpdateChoiceRequest struct {
	Choice string `json:"choice"`
}

// SafeModeRequest is the body of POST /v1/safemode.
type SafeModeRequest struct {
	On bool `json:"on"`
}

// Error is the error body of every failed call, and the error type that
// backends return to choose the status and a translatable message.
type Error struct {
	Status int    `json:"-"`
	Code   string `json:"code"`
	// Key is a translation key for the employee-facing text.
	Key     string            `json:"key,omitempty"`
	Args    map[string]string `json:"args,omitempty"`
	Message string            `json:"message"`
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return e.Message
}

type errorBody struct {
	Error *Error `json:"error"`
}

// Errors the API itself produces.
var (
	ErrNotAvailable = &Error{Status: http.StatusNotImplemented, Code: "not_available", Key: "error.not_available", Message: "this feature is not available yet"}
)

// AsError turns any error into an *Error, keeping a backend's choice. A
// domain package's *problem.Error gets the status of its kind: this is
// the one place that picks HTTP statuses for them.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if p, ok := problem.As(err); ok {
		msg := p.CodeOrKey()
		if p.Err != nil {
			msg = p.Err.Error() // the cause, for logs and scripts
		}
		return &Error{Status: statusOf(p.Kind), Code: p.CodeOrKey(), Key: p.Msg.Key, Args: p.Msg.Args, Message: msg}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
}

func statusOf(k problem.Kind) int {
	switch k {
	case problem.Invalid:
		return http.StatusBadRequest
	case problem.Denied:
		return http.StatusUnauthorized
	case problem.Forbidden:
		return http.StatusForbidden
	case problem.Conflict:
		return http.StatusConflict
	case problem.Limited:
		return http.StatusTooManyRequests
	case problem.Unavailable:
		return http.StatusServiceUnavailable
	case problem.NotSupported:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}
