package portal_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// TestClientCoversEveryRoute keeps the client and the spec together: every
// operation in the spec (api.AllRoutes, checked against openapi.yaml) must
// be reachable through a client method, and the client must call nothing
// else.
func TestClientCoversEveryRoute(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hit := map[string]bool{}
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{
		Observe: func(route string, status int, d time.Duration) {
			mu.Lock()
			hit[route] = true
			mu.Unlock()
		},
	}})
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "f")
	os.WriteFile(bin, []byte("x"), 0o644)
	if err := portalsrv.PublishRelease(ctx, env.Store, env.Config.ReleaseDir, "stable", []byte("m"), []byte("s"), []string{bin}, env.Clock.Now()); err != nil {
		t.Fatalf("PublishRelease: %v", err)
	}
	c, secret := enrolled(t, env, "u")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := c.Health(ctx)
	must("Health", err)
	_, err = c.Device(ctx)
	must("Device", err)
	_, err = c.AuthoriseSession(ctx, authcodetest.Code(t, secret, env.Clock.Now()))
	must("AuthoriseSession", err)
	_, err = c.SessionStatus(ctx)
	must("SessionStatus", err)
	_, err = c.EndSession(ctx)
	must("EndSession", err)
	_, err = c.Announcements(ctx, "")
	must("Announcements", err)
	_, err = c.SendReport(ctx, api.DeviceReport{SupportCode: "DW-2345-67", Version: "1", OS: "linux/amd64", Session: "connected"})
	must("SendReport", err)
	_, err = c.ReleaseManifest(ctx, "stable")
	must("ReleaseManifest", err)
	body, _, err := c.OpenReleaseFile(ctx, "stable", "f")
	must("OpenReleaseFile", err)
	io.Copy(io.Discard, body)
	body.Close()

	mu.Lock()
	defer mu.Unlock()
	var got []string
	for r := range hit {
		got = append(got, r)
	}
	sort.Strings(got)
	for _, r := range api.AllRoutes {
		if !hit[r] {
			t.Errorf("no client method calls %s", r)
		}
	}
	if len(got) != len(api.AllRoutes) {
		t.Errorf("client reached routes %q, want exactly api.AllRoutes", got)
	}
}
