package opsrv_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dienstweg/dienstweg/internal/org/opsrv"
)

// Served on a listener of its own: metrics with the runtime's and the
// caller's series, liveness, readiness from the callback; it stops with
// its context.
func TestServe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "dienstweg_test_total", Help: "test"})
	c.Add(3)
	notReady := errors.New("database gone")
	var ready atomic.Pointer[error]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- opsrv.Serve(ctx, ln, opsrv.Config{Collectors: []prometheus.Collector{c}, Ready: func(context.Context) error {
			if e := ready.Load(); e != nil {
				return *e
			}
			return nil
		}})
	}()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "dienstweg_test_total 3\n") || !strings.Contains(body, "go_goroutines ") {
		t.Errorf("/metrics = %d:\n%s", code, body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	ready.Store(&notReady)
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "database gone") {
		t.Errorf("/readyz when not ready = %d %q", code, body)
	}
	if code, _ := get("/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing = %d, want 404", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
}
