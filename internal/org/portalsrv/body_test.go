package portalsrv_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal/api"
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

// logRecorder keeps each log record as one line of text.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += fmt.Sprintf(" %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	return nil
}

func (l *logRecorder) matching(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// Unknown fields were ignored silently. The spec keeps ignoring them (a
// newer client must work with an older portal) but the portal logs them,
// a bounded number of times.
func TestUnknownFieldsAreLogged(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{Logger: slog.New(logs)}})
	r := newRaw(t, env)
	for range 20 {
		a := r.do(t, "POST", "/api/v1/session", `{"code":"123456","CODE":"1","admin":true,"zz_extra":1}`, "Authorization", "Bearer dwd1_unknown")
		if a.status != http.StatusUnauthorized {
			t.Fatalf("answer = %d %s, want 401 (decoded, unknown credential)", a.status, a.body)
		}
	}
	lines := logs.matching("unknown fields")
	if len(lines) != 1 {
		t.Fatalf("%d log lines about unknown fields for 20 requests within seconds, want 1: %q", len(lines), lines)
	}
	if l := lines[0]; !strings.Contains(l, "[admin zz_extra]") || !strings.Contains(l, api.RouteSessionAuthorise) {
		t.Errorf("log line does not name the unknown fields and route: %s", l)
	}
}
