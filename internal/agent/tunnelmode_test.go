package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// fakeHelper serves the helper's API on a unix socket with a fixed
// answer: the wire protocol as tunnel.System speaks it, without root.
// The real helper is checked end to end in the package test (scripts/
// package-check.sh) and in internal/helper.
func fakeHelper(t *testing.T, code int) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "helper.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if code != http.StatusOK {
			json.NewEncoder(w).Encode(helperapi.Error{Error: "uid 1000 may not use the tunnel helper"})
			return
		}
		json.NewEncoder(w).Encode(helperapi.Status{Up: r.URL.Path == helperapi.PathUp, Interface: "dienstweg0", HandshakeAgeSeconds: -1})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func chooserConfig(t *testing.T) tunnel.Config {
	t.Helper()
	priv, _ := wgconf.NewPrivateKey()
	gw, _ := wgconf.NewPrivateKey()
	gwPub, _ := wgconf.PublicKey(gw)
	return tunnel.Config{
		PrivateKey: priv, Address: netip.MustParsePrefix("10.77.0.10/32"),
		DNS: []netip.Addr{netip.MustParseAddr("10.77.0.1")}, GatewayEndpoint: "127.0.0.1:9",
		GatewayPublicKey: gwPub, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.77.0.0/16")},
	}
}

// The tunnel is the system one whenever the helper answers; the
// userspace one only where the profile allows it; and a profile that
// needs the helper gets a plain "the helper is missing", never the
// userspace tunnel in its place (issue 16).
func TestTunnelChooser(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-helper.sock")
	tests := []struct {
		name     string
		policy   string
		helper   int // 0: no helper
		want     state.Tunnel
		wantKey  string // Up's message key when it refuses
		wantUser bool   // Up runs the userspace engine
	}{
		{name: "auto_helper_answers", policy: profile.TunnelAuto, helper: http.StatusOK,
			want: state.Tunnel{Policy: "auto", Mode: state.TunnelModeSystem, Helper: state.HelperAnswers}},
		{name: "auto_no_helper", policy: profile.TunnelAuto,
			want: state.Tunnel{Policy: "auto", Mode: state.TunnelModeUserspace, Helper: state.HelperMissing, Proxy: "127.0.0.1:0"}, wantUser: true},
		{name: "auto_helper_refuses", policy: profile.TunnelAuto, helper: http.StatusForbidden,
			want: state.Tunnel{Policy: "auto", Mode: state.TunnelModeUserspace, Helper: state.HelperRefused, Proxy: "127.0.0.1:0"}, wantUser: true},
		{name: "system_helper_answers", policy: profile.TunnelSystem, helper: http.StatusOK,
			want: state.Tunnel{Policy: "system", Mode: state.TunnelModeSystem, Helper: state.HelperAnswers}},
		{name: "system_no_helper", policy: profile.TunnelSystem,
			want: state.Tunnel{Policy: "system", Helper: state.HelperMissing}, wantKey: situation.KeyHelperMissing},
		{name: "system_helper_refuses", policy: profile.TunnelSystem, helper: http.StatusForbidden,
			want: state.Tunnel{Policy: "system", Helper: state.HelperRefused}, wantKey: situation.KeyHelperRefused},
		{name: "userspace_forced", policy: profile.TunnelUserspace, helper: http.StatusOK,
			want: state.Tunnel{Policy: "userspace", Mode: state.TunnelModeUserspace, Proxy: "127.0.0.1:0"}, wantUser: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := missing
			if tt.helper != 0 {
				sock = fakeHelper(t, tt.helper)
			}
			var mu sync.Mutex
			var reports []state.Tunnel
			log := slog.New(slog.DiscardHandler)
			user := tunnel.NewUserspace(tunnel.UserspaceOptions{SOCKSAddr: "127.0.0.1:0", Logger: log})
			c := &tunnelChooser{
				policy:    tt.policy,
				system:    systemProber{tunnel.NewSystem(tunnel.SystemOptions{Socket: sock, Logger: log})},
				userspace: user,
				proxy:     "127.0.0.1:0",
				report:    func(t state.Tunnel) { mu.Lock(); reports = append(reports, t); mu.Unlock() },
				log:       log,
			}
			ctx := context.Background()
			c.Probe(ctx)
			mu.Lock()
			if len(reports) != 1 || reports[0] != tt.want {
				t.Errorf("at start: reported %+v, want %+v", reports, tt.want)
			}
			mu.Unlock()

			cfg := chooserConfig(t)
			err := c.Up(ctx, cfg)
			t.Cleanup(func() { c.Down() })
			if tt.wantKey != "" {
				e, ok := problem.As(err)
				if !ok || e.Msg.Key != tt.wantKey {
					t.Fatalf("Up = %v, want the problem %s", err, tt.wantKey)
				}
				if _, err := c.Current(); !errors.Is(err, tunnel.ErrDown) {
					t.Errorf("a tunnel runs after the refusal: %v", err)
				}
				if _, err := user.Current(); !errors.Is(err, tunnel.ErrDown) {
					t.Errorf("the userspace tunnel runs in its place: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Up: %v", err)
			}
			got, err := c.Current()
			if err != nil || got.Address != cfg.Address {
				t.Fatalf("Current = %+v, %v", got, err)
			}
			_, userErr := user.Current()
			if inUser := userErr == nil; inUser != tt.wantUser {
				t.Errorf("userspace engine up = %v, want %v", inUser, tt.wantUser)
			}
			mu.Lock()
			if last := reports[len(reports)-1]; len(reports) != 2 || last != tt.want {
				t.Errorf("at the start of the session: reported %+v, want %+v", reports, tt.want)
			}
			mu.Unlock()
		})
	}
}

// The helper is looked at again at each start: installed (or started)
// after the agent, it carries the next session; gone, the next session
// falls back where allowed, and the old tunnel is ended first.
func TestTunnelChooserLooksAgainAtEachStart(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	sock := filepath.Join(dir, "helper.sock")
	user := tunnel.NewUserspace(tunnel.UserspaceOptions{Logger: log})
	var last state.Tunnel
	c := &tunnelChooser{
		policy: profile.TunnelAuto, system: systemProber{tunnel.NewSystem(tunnel.SystemOptions{Socket: sock, Logger: log})},
		userspace: user, report: func(t state.Tunnel) { last = t }, log: log,
	}
	ctx := context.Background()
	if err := c.Up(ctx, chooserConfig(t)); err != nil {
		t.Fatal(err)
	}
	if last.Mode != state.TunnelModeUserspace {
		t.Fatalf("without a helper: %+v", last)
	}
	// The helper comes up where the agent looks for it.
	real := fakeHelper(t, http.StatusOK)
	if err := os.Symlink(real, sock); err != nil {
		t.Fatal(err)
	}
	if err := c.Up(ctx, chooserConfig(t)); err != nil {
		t.Fatal(err)
	}
	if last.Mode != state.TunnelModeSystem {
		t.Fatalf("with the helper: %+v", last)
	}
	if _, err := user.Current(); !errors.Is(err, tunnel.ErrDown) {
		t.Errorf("the userspace tunnel still runs beside the system one: %v", err)
	}
	if err := c.Down(); err != nil {
		t.Fatal(err)
	}
}
