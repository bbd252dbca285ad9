package agent

import (
	"errors"

	"github.com/dienstweg/dienstweg/internal/problem"
)

// fail is a problem error with a stable code for scripts and a cause text
// for logs and the command line; the local API picks the status by kind.
func fail(kind problem.Kind, code, key, text string) error {
	e := problem.New(kind, key, errors.New(text))
	e.Code = code
	return e
}

// errNotAvailable answers for a feature this build or profile lacks.
var errNotAvailable = fail(problem.NotSupported, "not_available", "error.not_available", "this feature is not available yet")
