package tunnel_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// These run without root: the engine's own rules, checked against no
// helper at all or against a real HTTP server on a unix socket that
// answers as a helper that refuses.

func TestSystemWithoutHelper(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "none.sock")
	e := tunnel.NewSystem(tunnel.SystemOptions{Socket: sock})
	ctx := context.Background()
	t.Run("up_names_the_socket", func(t *testing.T) {
		err := e.Up(ctx, validConfig(t))
		if err == nil || !strings.Contains(err.Error(), sock) {
			t.Fatalf("Up without helper = %v, want an error naming %s", err, sock)
		}
	})
	t.Run("down_when_never_up", func(t *testing.T) {
		if err := e.Down(); err != nil {
			t.Errorf("Down of an engine that was never up = %v", err)
		}
	})
	t.Run("down_until_up", func(t *testing.T) {
		if _, err := e.Stats(); !errors.Is(err, tunnel.ErrDown) {
			t.Errorf("Stats = %v, want ErrDown", err)
		}
		if _, err := e.DialContext(ctx, "tcp", "10.77.0.1:80"); !errors.Is(err, tunnel.ErrDown) {
			t.Errorf("DialContext = %v, want ErrDown", err)
		}
		if _, err := e.LookupHost(ctx, "intranet"); !errors.Is(err, tunnel.ErrDown) {
			t.Errorf("LookupHost = %v, want ErrDown", err)
		}
	})
	t.Run("bad_config_refused_before_asking", func(t *testing.T) {
		cfg := validConfig(t)
		cfg.PrivateKey = "x"
		if err := e.Up(ctx, cfg); err == nil || strings.Contains(err.Error(), sock) {
			t.Errorf("Up with a bad key = %v, want a config error", err)
		}
	})
}

func TestSystemReportsHelperRefusal(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "h.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":"uid 1000 may not use the tunnel helper"}`))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e := tunnel.NewSystem(tunnel.SystemOptions{Socket: sock})
	err = e.Up(context.Background(), validConfig(t))
	var he *tunnel.HelperError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden || !strings.Contains(he.Message, "may not use") {
		t.Fatalf("Up = %v, want a HelperError 403 with the helper's message", err)
	}
	if _, err := e.Stats(); !errors.Is(err, tunnel.ErrDown) {
		t.Errorf("Stats after a refused Up = %v, want ErrDown", err)
	}
}
