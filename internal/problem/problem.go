// Package problem is the typed error that the agent's components return
// when something goes wrong that the employee must read about. It says
// what kind of failure it is and carries the translatable text; only the
// local API turns the kind into an HTTP status, so domain packages never
// pick transport details.
package problem

import (
	"errors"

	"github.com/dienstweg/dienstweg/internal/state"
)

// Kind classifies a failure by what the caller can do about it.
type Kind int

const (
	// Internal: a fault of this computer or program; retrying rarely helps.
	Internal Kind = iota
	// Invalid: the request itself is wrong (a malformed code, a bad name).
	Invalid
	// Denied: the input was checked and refused (a wrong code).
	Denied
	// Forbidden: this device or user may not do this at all (revoked).
	Forbidden
	// Conflict: the request does not fit the current state (a code
	// already used, a window already open).
	Conflict
	// Limited: too many attempts; try again later.
	Limited
	// Unavailable: something this depends on does not answer (the
	// portal, the gateway, the keyring); retrying later may help.
	Unavailable
	// NotSupported: not available in this build or on this system.
	NotSupported
	// NotSetUp: this computer is not set up yet; the setup wizard comes
	// first.
	NotSetUp
)

var kindNames = [...]string{
	Internal: "internal", Invalid: "invalid", Denied: "denied", Forbidden: "forbidden",
	Conflict: "conflict", Limited: "limited", Unavailable: "unavailable", NotSupported: "not_supported",
	NotSetUp: "not_set_up",
}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "internal"
	}
	return kindNames[k]
}

// Error is a failure with a kind, a stable code for scripts and a
// translatable message for the employee. Err is the cause, for logs.
type Error struct {
	Kind Kind
	// Code is stable for scripts; empty means Msg.Key.
	Code string
	Msg  state.Message
	Err  error
}

// New returns an Error with message key and args given as name, value pairs.
func New(kind Kind, key string, cause error, args ...string) *Error {
	e := &Error{Kind: kind, Msg: state.Message{Key: key}, Err: cause}
	for i := 0; i+1 < len(args); i += 2 {
		if e.Msg.Args == nil {
			e.Msg.Args = map[string]string{}
		}
		e.Msg.Args[args[i]] = args[i+1]
	}
	return e
}

// Wrap returns an Error for msg, as New does for a message built elsewhere.
func Wrap(kind Kind, msg state.Message, cause error) *Error {
	return &Error{Kind: kind, Msg: msg, Err: cause}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.CodeOrKey() + ": " + e.Err.Error()
	}
	return e.CodeOrKey()
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOrKey is the machine-readable code.
func (e *Error) CodeOrKey() string {
	if e.Code != "" {
		return e.Code
	}
	return e.Msg.Key
}

// As finds an *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
