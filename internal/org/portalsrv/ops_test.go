package portalsrv_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/opsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// What employees' devices do is in the audit log, with who, when and
// from where; the metrics count the same.
func TestAuditLogAndMetricsOfAPIActions(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	ctx := context.Background()
	cred, secret := enrolledDevice(t, env, r, "anna")
	env.Clock.Advance(24 * time.Hour)
	for range 5 {
		authorise(t, r, cred, "000000") // the fifth locks
	}
	env.Clock.Advance(10 * time.Minute)
	if a := authorise(t, r, cred, authcodetest.Code(t, secret, env.Clock.Now())); a.status != http.StatusOK {
		t.Fatalf("authorise = %d %s", a.status, a.body)
	}
	if a := r.do(t, "DELETE", "/api/v1/session", "", "Authorization", "Bearer "+cred); a.status != http.StatusOK {
		t.Fatalf("end session = %d %s", a.status, a.body)
	}
	devs, _ := env.Store.Devices(ctx)
	if err := env.Server.RevokeDeviceBy(ctx, devs[0].ID, "admin:it"); err != nil {
		t.Fatal(err)
	}

	evs, err := env.Store.AuditEvents(ctx, 0, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Actor+" "+e.Action+" "+e.Subject)
		if e.Action != portalsrv.AuditLockout && e.Action != portalsrv.AuditDeviceRevoke && e.Details["source"] != "127.0.0.1" {
			t.Errorf("%s: source = %q, want 127.0.0.1", e.Action, e.Details["source"])
		}
	}
	dev := devs[0].ID
	// The automatic session right after enrollment checks no code: it is
	// not audited as an authorisation (device.register covers it).
	want := []string{
		"user:anna enrollment.confirm anna",
		"user:anna device.register " + dev,
		"portal lockout anna",
		"user:anna session.authorise " + dev,
		"user:anna session.end " + dev,
		"admin:it device.revoke " + dev,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	text := scrape(t, env.Server.Collector())
	for _, line := range []string{
		`dienstweg_portal_sessions_authorised_total 1`,
		`dienstweg_portal_codes_rejected_total{factor="session"} 5`, // the fifth also locks
		`dienstweg_portal_lockouts_total{factor="session"} 1`,
		`dienstweg_portal_enrollments_total{stage="confirmed"} 1`,
		`dienstweg_portal_enrollments_total{stage="started"} 1`,
		`dienstweg_portal_enrollments_total{stage="device_registered"} 1`,
		`dienstweg_portal_shed_total 0`,
		`dienstweg_portal_audit_write_failures_total 0`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, grepLines(text, "dienstweg_portal_"))
		}
	}
}

// scrape serves c through opsrv and returns the text of /metrics.
func scrape(tb testing.TB, c prometheus.Collector) string {
	tb.Helper()
	h, err := opsrv.Handler(opsrv.Config{Collectors: []prometheus.Collector{c}})
	if err != nil {
		tb.Fatalf("opsrv.Handler: %v", err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("/metrics = %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// /readyz fails while the database is gone and while the portal sheds
// load; /healthz answers as long as the process does.
func TestReadiness(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{MaxInFlight: 1, QueueWait: time.Millisecond}})
	h, err := opsrv.Handler(opsrv.Config{Ready: env.Server.Ready})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %s, want 200", code, body)
	}

	// Hold the one in-flight slot with a slow store call and send more.
	slow := &blockingStore{Store: env.Store, release: make(chan struct{}), entered: make(chan struct{}, 1)}
	srv, err := portalsrv.New(portalsrv.Config{Tunnel: portaltest.Tunnel(), MaxInFlight: 1, QueueWait: time.Millisecond}, slow)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := http.Get(hs.URL + "/api/v1/announcements")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-slow.entered
	resp, err := http.Get(hs.URL + "/api/v1/announcements")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second request = %d, want 503", resp.StatusCode)
	}
	if err := srv.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "shedding") {
		t.Errorf("Ready while shedding = %v, want not ready", err)
	}
	close(slow.release)
	wg.Wait()

	env.Stop() // closes the store
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "database") {
		t.Errorf("/readyz without a database = %d %s, want 503 naming the database", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
}

// blockingStore makes the announcement revision wait for release.
type blockingStore struct {
	store.Store
	release chan struct{}
	entered chan struct{}
	once    sync.Once
}

func (b *blockingStore) Revision(ctx context.Context) (int64, error) {
	first := false
	b.once.Do(func() { first = true })
	if first {
		b.entered <- struct{}{}
		<-b.release
	}
	return b.Store.Revision(ctx)
}
