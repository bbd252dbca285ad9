package console_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/org/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Two portal instances on one PostgreSQL database serve one browser: the
// session made at one is valid at the other, sign-out at the other ends
// it at both, and wrong sign-ins at both count in one limit.
func TestConsoleOnTwoPortals(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	open := func(tb testing.TB) store.Store {
		s, err := store.OpenPostgres(context.Background(), dbURL)
		if err != nil {
			tb.Fatalf("OpenPostgres: %v", err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	}
	keys := filepath.Join(t.TempDir(), "secrets.key")
	a := mount(t, portaltest.Start(t, portaltest.Options{OpenStore: open, KeyFile: keys}))
	b := mount(t, portaltest.Start(t, portaltest.Options{OpenStore: open, KeyFile: keys, Clock: a.Clock, Config: a.Config}))
	a.addAccounts(t)
	b.it, b.hd = a.it, a.hd

	ca := a.client(t)
	if got := ca.signIn(a.it, a.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in at a = %d", got)
	}
	// The same browser (cookies) talks to b, as behind a load balancer
	// (cookies are not bound to a port).
	cb := b.client(t)
	cb.http.Jar = ca.http.Jar
	if res, _ := cb.do("GET", "/console/devices", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("a's session at b = %d, want 200", res.StatusCode)
	}
	if res, _ := cb.do("POST", "/console/signout", url.Values{"csrf": {cb.csrf("/console/devices")}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out at b = %d", res.StatusCode)
	}
	if res, _ := ca.do("GET", "/console/devices", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a after sign-out at b = %d, want 303 to sign-in", res.StatusCode)
	}

	a.Clock.Advance(time.Minute) // a fresh code
	xa, xb := a.client(t), b.client(t)
	for i := range 5 {
		c := []*browserless{xa, xb}[i%2]
		if got := c.signIn(a.hd, "falsches-passwort-123"); got != http.StatusUnauthorized {
			t.Fatalf("wrong password %d = %d", i+1, got)
		}
	}
	if got := xa.signIn(a.hd, a.hd.password); got != http.StatusTooManyRequests {
		t.Fatalf("right password after 5 wrong at two portals = %d, want 429", got)
	}
}
