package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/org/haproxytest"
	"github.com/dienstweg/dienstweg/internal/org/portalproc"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/org/store/pgtest"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// asPortal makes the test binary run as dienstweg-portal, so tests can
// start real portal processes and kill them.
const asPortal = "DIENSTWEG_TEST_RUN_AS_PORTAL"

// portalProfileDir, if set, is where each portal process writes its CPU
// profile.
const portalProfileDir = "DIENSTWEG_TEST_PORTAL_PROFILES"

func TestMain(m *testing.M) {
	if os.Getenv(asPortal) == "1" {
		// A benchmark may ask where the portal spends its time.
		if dir := os.Getenv(portalProfileDir); dir != "" {
			f, err := os.CreateTemp(dir, "portal-*.cpu")
			if err == nil && pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
		main()
		return
	}
	pgtest.Main(m)
}

// cluster is portal instances on one store, behind HAProxy or not.
type cluster struct {
	data, db, caPEM string
	lb              *haproxytest.HAProxy
	portals         []*portalproc.Instance
}

type clusterOptions struct {
	instances int
	// postgres keeps the state in a fresh PostgreSQL database, else in
	// SQLite in the data directory.
	postgres bool
	// balancer puts HAProxy in front.
	balancer bool
	// seed runs before the portals start, on the store they will use.
	seed func(st store.Store)
	// serveArgs are added to each instance's serve command.
	serveArgs []string
}

// startCluster runs two portal instances on one PostgreSQL database
// behind HAProxy.
func startCluster(t *testing.T, instances int) *cluster {
	return newCluster(t, clusterOptions{instances: instances, postgres: true, balancer: true})
}

func newCluster(tb testing.TB, o clusterOptions) *cluster {
	tb.Helper()
	c := &cluster{data: tb.TempDir()}
	if o.postgres {
		c.db = pgtest.NewDatabase(tb)
	}
	if o.seed != nil {
		st := c.store(tb)
		o.seed(st)
		st.Close()
	}
	// One certificate for all instances, from the organisation's CA, as a
	// city deploys it; the balancer only passes TLS through.
	tlsDir := tb.TempDir()
	mat, err := portalsrv.LoadOrCreateTLS(tlsDir, []string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		tb.Fatalf("LoadOrCreateTLS: %v", err)
	}
	c.caPEM = string(mat.CAPEM)
	backends := make([]string, o.instances)
	for i := range o.instances {
		args := []string{"serve", "--data", c.data, "--listen", "127.0.0.1:0",
			"--cert", filepath.Join(tlsDir, "server.pem"), "--key", filepath.Join(tlsDir, "server-key.pem"), "--ca", filepath.Join(tlsDir, "ca.pem"),
			"--gateway-endpoint", "127.0.0.1:51820", "--gateway-key", portaltest.NewWGKey(),
			// Every test client comes from 127.0.0.1.
			"--max-conns-per-source", "-1"}
		if o.balancer {
			args = append(args, "--trusted-proxies", "127.0.0.1")
		}
		args = append(args, o.serveArgs...)
		env := []string{asPortal + "=1", envDatabase + "=" + c.db}
		p, err := portalproc.Start(os.Args[0], env, args...)
		if err != nil {
			tb.Fatalf("portal %d: %v", i, err)
		}
		tb.Cleanup(p.Kill)
		c.portals = append(c.portals, p)
		backends[i] = p.Addr
	}
	if !o.balancer {
		return c
	}
	c.lb = haproxytest.Start(tb, haproxytest.Options{Backends: backends, CAFile: filepath.Join(tlsDir, "ca.pem"), CheckInterval: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	all := make([]int, o.instances)
	for i := range all {
		all[i] = i
	}
	if err := c.lb.WaitUp(ctx, all...); err != nil {
		tb.Fatalf("%v\n%s", err, c.lb.Log())
	}
	return c
}

// url is where clients reach the portal: the balancer, or the first
// instance.
func (c *cluster) url() string {
	if c.lb != nil {
		return "https://" + c.lb.Addr
	}
	return "https://" + c.portals[0].Addr
}

// store opens the cluster's store.
func (c *cluster) store(tb testing.TB) store.Store {
	tb.Helper()
	var st store.Store
	var err error
	if c.db != "" {
		st, err = store.OpenPostgres(context.Background(), c.db)
	} else {
		st, err = store.OpenSQLite(context.Background(), filepath.Join(c.data, "portal.db"))
	}
	if err != nil {
		tb.Fatalf("opening the store: %v", err)
	}
	return st
}

func (c *cluster) client(t testing.TB, mod func(*portal.Config)) *portal.Client {
	cfg := portal.Config{BaseURL: c.url(), CAPEM: c.caPEM}
	if mod != nil {
		mod(&cfg)
	}
	cl, err := portal.New(cfg)
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// laptop is an enrolled device of the herd.
type laptop struct {
	user, secret, cred, deviceID string
	// confirmStep is the TOTP step spent by the enrollment's
	// confirmation; the session needs a later one.
	confirmStep int64
}

var activationRe = regexp.MustCompile(`activation code: ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})`)

// enroll adds a user with the admin command and enrolls a laptop through
// the balancer with the portal API, as the wizard does.
func (c *cluster) enroll(t *testing.T, name string) laptop {
	ctx := context.Background()
	m := activationRe.FindStringSubmatch(runOK(t, "user", "add", name, "--data", c.data))
	if m == nil {
		t.Fatalf("user add %s printed no activation code", name)
	}
	cl := c.client(t, nil)
	en, err := cl.StartEnrollment(ctx, name, m[1])
	if err != nil {
		t.Fatalf("StartEnrollment %s: %v", name, err)
	}
	now := time.Now()
	if _, err := cl.ConfirmEnrollment(ctx, en.EnrollmentID, authcodetest.Code(t, en.Secret, now)); err != nil {
		t.Fatalf("ConfirmEnrollment %s: %v", name, err)
	}
	reg, err := cl.RegisterDevice(ctx, en.EnrollmentID, portaltest.NewWGKey(), name+"-laptop")
	if err != nil {
		t.Fatalf("RegisterDevice %s: %v", name, err)
	}
	// Registered right after the confirmation, the device is admitted for
	// the day; the herd is the next morning, when it is not.
	cl.SetCredential(reg.Credential)
	if _, err := cl.EndSession(ctx); err != nil {
		t.Fatalf("EndSession %s: %v", name, err)
	}
	return laptop{user: name, secret: en.Secret, cred: reg.Credential, deviceID: reg.DeviceID, confirmStep: now.Unix() / int64(authcode.Period/time.Second)}
}

// code is the laptop's current code, or the next step's while the
// current one is the step its enrollment spent (the portal takes ±1).
func (l laptop) code(t *testing.T, now time.Time) string {
	period := int64(authcode.Period / time.Second)
	if now.Unix()/period <= l.confirmStep {
		now = time.Unix((l.confirmStep+1)*period, 0)
	}
	return authcodetest.Code(t, l.secret, now)
}

// holdWrites locks the table of failed attempts, which every session
// authorisation writes first, so that the authorisations sent meanwhile
// wait inside the portals; release lets them go on.
func (c *cluster) holdWrites(t *testing.T) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.db)
	if err != nil {
		t.Fatalf("connecting to the store: %v", err)
	}
	tx, err := conn.Begin(ctx)
	if err == nil {
		_, err = tx.Exec(ctx, `LOCK TABLE auth_failures IN EXCLUSIVE MODE`)
	}
	if err != nil {
		conn.Close(ctx)
		t.Fatalf("locking auth_failures: %v", err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			tx.Rollback(ctx)
			conn.Close(ctx)
		})
	}
	t.Cleanup(release)
	return release
}

// The Monday-morning herd across two portal instances behind HAProxy:
// one instance is killed (SIGKILL) while it holds laptops' session
// authorisations, and still no laptop gives up and every authorisation
// is in the shared store.
func TestHerdAcrossInstancesSurvivesKill(t *testing.T) {
	const (
		laptops = 48
		window  = time.Second
	)
	c := startCluster(t, 2)
	// The admin commands below run in this process.
	t.Setenv(envDatabase, c.db)

	enrolled := make([]laptop, laptops)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range enrolled {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			enrolled[i] = c.enroll(t, fmt.Sprintf("herd%03d", i))
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// The laptops wake within the window and ask for their session
	// state; then, while the writes that authorisations need are held,
	// they all send their codes, so that the kill finds authorisations in
	// flight on the instance, as under real load (a kill on a herd this
	// small would mostly hit idle moments).
	var (
		retries   atomic.Int64
		asked     sync.WaitGroup
		authorise = make(chan struct{})
		failures  = make(chan error, laptops)
	)
	asked.Add(laptops)
	start := time.Now()
	for i, l := range enrolled {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := sync.OnceFunc(asked.Done)
			defer done()
			time.Sleep(time.Duration(rand.Int64N(int64(window))))
			cl := c.client(t, func(cfg *portal.Config) {
				cfg.Credential = l.cred
				// The product's own backoff (internal/backoff), counted.
				cfg.Sleep = func(ctx context.Context, d time.Duration) error {
					retries.Add(1)
					return backoff.Sleep(ctx, d)
				}
			})
			ctx := context.Background()
			if _, err := cl.SessionStatus(ctx); err != nil {
				failures <- fmt.Errorf("laptop %d: session status: %w", i, err)
				return
			}
			done()
			<-authorise
			s, err := cl.AuthoriseSession(ctx, l.code(t, time.Now()))
			if err != nil {
				failures <- fmt.Errorf("laptop %d: authorising: %w", i, err)
				return
			}
			if !s.Authorised {
				failures <- fmt.Errorf("laptop %d: portal answered %+v, not authorised", i, s)
				return
			}
			if _, err := cl.Announcements(ctx, ""); err != nil {
				failures <- fmt.Errorf("laptop %d: announcements: %w", i, err)
			}
		}()
	}
	asked.Wait()
	release := c.holdWrites(t)
	close(authorise)
	time.Sleep(500 * time.Millisecond)
	c.portals[0].Kill()
	killed := time.Now()
	time.Sleep(500 * time.Millisecond)
	release()
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Error(err)
	}
	if retries.Load() == 0 && !t.Failed() {
		t.Errorf("no laptop had to retry: the kill cut no request, so the test showed nothing")
	}
	t.Logf("herd of %d across 2 instances: %v; instance 0 killed at %v; client backoff waits: %d",
		laptops, time.Since(start).Round(time.Millisecond), killed.Sub(start).Round(time.Millisecond), retries.Load())

	// Every authorisation is in the store both instances share.
	st := c.store(t)
	defer st.Close()
	devs, err := st.AuthorisedDevices(context.Background(), time.Now())
	if err != nil {
		t.Fatalf("AuthorisedDevices: %v", err)
	}
	in := map[string]bool{}
	for _, d := range devs {
		in[d.ID] = true
	}
	for _, l := range enrolled {
		if !in[l.deviceID] {
			t.Errorf("device %s of %s is not authorised in the store", l.deviceID, l.user)
		}
	}
	// The balancer saw the kill and sent everyone to the survivor.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.lb.WaitUp(ctx, 1); err != nil {
		t.Errorf("balancer: %v", err)
	}
	if t.Failed() {
		t.Logf("haproxy log:\n%s", c.lb.Log())
	}
}
