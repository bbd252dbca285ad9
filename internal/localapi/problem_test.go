package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/state"
)

// failingSession fails every start with its err.
type failingSession struct{ err error }

func (s failingSession) StartSession(context.Context, string) error { return s.err }
func (s failingSession) EndSession(context.Context) error           { return s.err }

// Domain packages return problem errors; the API alone picks the status
// and keeps the JSON body that the CLI and the windows read.
func TestProblemKindsMapToStatuses(t *testing.T) {
	t.Parallel()
	want := map[problem.Kind]int{
		problem.Invalid: 400, problem.Denied: 401, problem.Forbidden: 403, problem.Conflict: 409,
		problem.Limited: 429, problem.Unavailable: 503, problem.NotSupported: 501, problem.Internal: 500,
		problem.NotSetUp: 412,
	}
	for kind, status := range want {
		srv := NewServer(Backend{Session: failingSession{problem.New(kind, "portal.error.wrong_code_attempts", errors.New("portal said no"), "Attempts", "2")}}, Config{})
		req := httptest.NewRequest("POST", "/v1/session/start", strings.NewReader(`{"code":"123456"}`))
		rec := httptest.NewRecorder()
		srv.routes().ServeHTTP(rec, req)
		if rec.Code != status {
			t.Errorf("%v: status %d, want %d", kind, rec.Code, status)
		}
		var body struct{ Error *Error }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == nil {
			t.Fatalf("%v: body %q: %v", kind, rec.Body, err)
		}
		if e := body.Error; e.Code != "portal.error.wrong_code_attempts" || e.Key != e.Code || e.Args["Attempts"] != "2" || !strings.Contains(e.Message, "portal said no") {
			t.Errorf("%v: body %+v", kind, e)
		}
	}
	if got := StatusOf(problem.Kind(99)); got != http.StatusInternalServerError {
		t.Errorf("unknown kind: %d, want 500", got)
	}
}

// A part the backend lacks answers 501 with the JSON error shape, also a
// window claim on a backend without windows.
func TestMissingPartIsNotSupported(t *testing.T) {
	t.Parallel()
	srv := NewServer(Backend{State: state.NewStore(state.Snapshot{}, nil), Session: failingSession{}}, Config{})
	for _, target := range []string{"/v1/watch?window=status", "/v1/announcements", "/v1/diagnostics", "/v1/enroll"} {
		rec := httptest.NewRecorder()
		srv.routes().ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		var body struct{ Error *Error }
		if rec.Code != http.StatusNotImplemented || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error == nil || body.Error.Code != "not_supported" {
			t.Errorf("GET %s: %d %q, want 501 not_supported", target, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	srv.routes().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/status", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET /v1/status with a state: %d %q", rec.Code, rec.Body)
	}
}
