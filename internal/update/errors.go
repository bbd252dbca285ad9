package update

import (
	"errors"
	"fmt"

	"github.com/dienstweg/dienstweg/internal/state"
)

// Code names why an update was refused or failed. Codes are stable: they
// become translation keys ("update.error."+code) and appear in logs and
// the diagnostics bundle.
type Code string

// The codes. Each rejection leaves the installed binary untouched.
const (
	CodeUnknownKey       Code = "unknown_key"        // manifest signed by a key the profile does not list
	CodeBadSignature     Code = "bad_signature"      // manifest signature does not verify
	CodeMalformed        Code = "malformed"          // manifest is not what we expect
	CodeExpired          Code = "expired"            // manifest past its expiry: a frozen mirror
	CodeWrongChannel     Code = "wrong_channel"      // manifest for another channel
	CodeDowngrade        Code = "downgrade"          // manifest older than the running version
	CodeNoPlatform       Code = "no_platform"        // no build for this OS and architecture
	CodeWrongPlatform    Code = "wrong_platform"     // the verified file is not an executable for this platform
	CodeSizeMismatch     Code = "size_mismatch"      // the portal announces or sends more or fewer bytes than signed
	CodeTruncated        Code = "truncated"          // the download ended early
	CodeHashMismatch     Code = "hash_mismatch"      // SHA-256 of the download differs from the manifest
	CodeBinarySignature  Code = "binary_signature"   // the binary's own minisign signature does not verify
	CodePatchFailed      Code = "patch_failed"       // a patch could not be applied or its result is wrong
	CodeDownloadFailed   Code = "download_failed"    // network or portal trouble while downloading
	CodeCheckFailed      Code = "check_failed"       // network or portal trouble while checking
	CodeNotWritable      Code = "not_writable"       // the binary's directory is not writable by us
	CodeApplyFailed      Code = "apply_failed"       // replacing the binary failed; the old one is in place
	CodeSelfTestFailed   Code = "self_test_failed"   // the new version did not start; the old one was restored
	CodeFailedBefore     Code = "failed_before"      // this version failed its self-test earlier and is skipped
	CodeNothingToInstall Code = "nothing_to_install" // Install without a verified download
)

// Error is an update failure with a stable code. Err carries the detail
// for the log; the employee sees the translated code.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return "update: " + string(e.Code)
	}
	return fmt.Sprintf("update: %s: %v", e.Code, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Code: c}) match by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Err == nil && t.Code == e.Code
}

// Message is the translatable text for the status window.
func (e *Error) Message() state.Message {
	return state.Message{Key: MessageKey(e.Code)}
}

// MessageKey is the translation key of a code.
func MessageKey(c Code) string { return "update.error." + string(c) }

func errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// CodeOf returns the code of err, or "" if it is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
