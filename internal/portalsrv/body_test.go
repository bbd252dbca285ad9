package portalsrv_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/dienstweg/dienstweg/internal/portal/api"
	"github.com/dienstweg/dienstweg/internal/portalsrv"
	"github.com/dienstweg/dienstweg/internal/portalsrv/portaltest"
)

// A body that is not JSON was decoded as JSON anyway; now it is refused
// with 415 before it is read.
func TestWrongContentTypeRefused(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/jsonx"} {
		a := r.do(t, "POST", "/api/v1/session", `{"code":"123456"}`, "Content-Type", ct)
		e := a.apiError(t)
		if a.status != http.StatusUnsupportedMediaType || e.Code != api.CodeUnsupportedMediaType || !strings.Contains(e.Message, "application/json") {
			t.Errorf("Content-Type %q: answer = %d %s, want 415 %s", ct, a.status, a.body, api.CodeUnsupportedMediaType)
		}
	}
	// JSON with parameters is JSON.
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"} {
		a := r.do(t, "POST", "/api/v1/session", `{"code":"123456"}`, "Content-Type", ct)
		if a.status != http.StatusUnauthorized {
			t.Errorf("Content-Type %q: answer = %d %s, want 401 (decoded, no credential)", ct, a.status, a.body)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Unknown fields were ignored silently. The spec keeps ignoring them (a
// newer client must work with an older portal) but the portal logs them,
// a bounded number of times.
func TestUnknownFieldsAreLogged(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}})
	r := newRaw(t, env)
	for range 20 {
		a := r.do(t, "POST", "/api/v1/session", `{"code":"123456","CODE":"1","admin":true,"zz_extra":1}`, "Authorization", "Bearer dwd1_unknown")
		if a.status != http.StatusUnauthorized {
			t.Fatalf("answer = %d %s, want 401 (decoded, unknown credential)", a.status, a.body)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "unknown fields") || !strings.Contains(out, "[admin zz_extra]") || !strings.Contains(out, api.RouteSessionAuthorise) {
		t.Fatalf("log does not name the unknown fields and route:\n%s", out)
	}
	if n := strings.Count(out, "unknown fields"); n != 1 {
		t.Errorf("%d log lines for 20 requests within seconds, want 1:\n%s", n, out)
	}
}
