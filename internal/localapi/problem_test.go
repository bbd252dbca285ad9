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

// problemBackend fails every session start with its err.
type problemBackend struct {
	testBackend
	err error
}

func (b *problemBackend) StartSession(context.Context, string) error { return b.err }

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
		b := &problemBackend{testBackend: testBackend{Store: state.NewStore(state.Snapshot{}, nil)},
			err: problem.New(kind, "portal.error.wrong_code_attempts", errors.New("portal said no"), "Attempts", "2")}
		srv := NewServer(b, Config{})
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
