// Package polls_test measures announcement polls against the portal and
// against a trivial TLS server that answers every poll with 304, in one
// run, with the server in a process of its own so its processor time per
// poll can be read from /proc. Real laptops poll every 15 minutes with
// their device credential and the portal's credential cache lives 30 s, so
// nearly every real poll misses the cache: that is the "miss" case, where
// each poll carries another device's credential.
//
//	go test -run '^$' -bench Polls -benchtime 1x ./bench/polls/
package polls_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/herd"
	"github.com/dienstweg/dienstweg/internal/org/portalproc"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
)

var (
	conns   = flag.Int("polls.conns", 32, "concurrent clients (connections)")
	dur     = flag.Duration("polls.duration", 3*time.Second, "how long each case runs")
	devices = flag.Int("polls.devices", 8000, "devices seeded; the miss case rotates over their credentials")
	rounds  = flag.Int("polls.rounds", 3, "rounds of all cases, alternating, against the box's noise")
)

// child is set in the environment of the server processes.
const child = "DIENSTWEG_POLLS_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(child) {
	case "portal":
		serveChild(os.Args[len(os.Args)-1], true)
	case "trivial":
		serveChild(os.Args[len(os.Args)-1], false)
	default:
		os.Exit(m.Run())
	}
}

const etag = `"0123456789abcdef01234567"`

// serveChild serves the portal (or the trivial server) on the data in dir
// until SIGTERM.
func serveChild(dir string, real bool) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	mat, err := portalsrv.LoadOrCreateTLS(filepath.Join(dir, "tls"), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("portal on https://%s\n", ln.Addr())
	if !real {
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
		})}
		go func() { <-ctx.Done(); hs.Close() }()
		hs.Serve(tls.NewListener(ln, mat.Config()))
		return
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "portal.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	key := make([]byte, 32)
	rand.Read(key)
	// The clock jumps 31 s every 250 ms, so no credential cache entry
	// (30 s) outlives a quarter second: with credentials rotating over
	// thousands of devices, every poll of the miss case misses, as a
	// laptop's poll every 15 minutes does. The announcement revision is
	// still read at most once per (warped) second, i.e. 4 times a second.
	var warp atomic.Int64
	go func() {
		for range time.Tick(250 * time.Millisecond) {
			warp.Add(int64(31 * time.Second))
		}
	}()
	srv, err := portalsrv.New(portalsrv.Config{
		Now: func() time.Time { return time.Now().Add(time.Duration(warp.Load())) },
		Tunnel: portalsrv.TunnelConfig{
			Pool:             netip.MustParsePrefix("10.64.0.0/16"),
			GatewayEndpoint:  "127.0.0.1:51820",
			GatewayPublicKey: base64.StdEncoding.EncodeToString(key),
		},
		MaxConnsPerSource: -1,
	}, st)
	if err != nil {
		panic(err)
	}
	if path := os.Getenv("DIENSTWEG_POLLS_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	srv.Serve(ctx, ln, mat.Config())
}

type pollResult struct {
	polls, errs int64
	rate        float64
	p50, p99    time.Duration
	serverCPU   time.Duration // per poll
}

// poll runs conns clients in a closed loop for d; cred picks the
// credential of each poll ("" for none) and etag is sent as If-None-Match.
func poll(b *testing.B, srv *portalproc.Instance, caPEM string, cred func() string, etag string) pollResult {
	var (
		mu   sync.Mutex
		lats []time.Duration
		n    atomic.Int64
		errs atomic.Int64
	)
	clients := make([]*portal.Client, *conns)
	for i := range clients {
		c, err := portal.New(portal.Config{BaseURL: "https://" + srv.Addr, CAPEM: caPEM, Retry: portal.RetryPolicy{MaxAttempts: 1}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		// Connect before the clock starts.
		c.SetCredential(cred())
		if _, err := c.Announcements(context.Background(), etag); err != nil {
			b.Fatalf("first poll: %v", err)
		}
		clients[i] = c
	}
	cpu0 := srv.CPU()
	start := time.Now()
	deadline := start.Add(*dur)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<14)
			for time.Now().Before(deadline) {
				c.SetCredential(cred())
				t0 := time.Now()
				res, err := c.Announcements(context.Background(), etag)
				if err != nil || !res.NotModified {
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
				n.Add(1)
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := srv.CPU() - cpu0
	slices.Sort(lats)
	r := pollResult{polls: n.Load(), errs: errs.Load(), rate: float64(n.Load()) / elapsed.Seconds(),
		p50: herd.Percentile(lats, 0.5), p99: herd.Percentile(lats, 0.99)}
	if r.polls > 0 {
		r.serverCPU = cpu / time.Duration(r.polls)
	}
	return r
}

func BenchmarkPolls(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	mat, err := portalsrv.LoadOrCreateTLS(filepath.Join(dir, "tls"), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	ca := string(mat.CAPEM)
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "portal.db"))
	if err != nil {
		b.Fatal(err)
	}
	seedStart := time.Now()
	laptops, err := herd.Seed(ctx, st, *devices, 1)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := st.PutAnnouncement(ctx, store.Announcement{ID: "m", Severity: "maintenance", TitleDE: "T", TitleEN: "T", BodyDE: "B", BodyEN: "B",
		ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(365 * 24 * time.Hour), Audience: []string{"all"}, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	st.Close()
	b.Logf("%d devices seeded in %v", len(laptops), time.Since(seedStart).Round(time.Millisecond))

	start := func(kind string) *portalproc.Instance {
		in, err := portalproc.Start(os.Args[0], []string{child + "=" + kind}, "-test.run=^$", dir)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(in.Stop)
		return in
	}
	trivial := start("trivial")
	portalSrv := start("portal")

	// The portal's ETag for the audience of the seeded devices.
	c, err := portal.New(portal.Config{BaseURL: "https://" + portalSrv.Addr, CAPEM: ca, Credential: laptops[0].Credential})
	if err != nil {
		b.Fatal(err)
	}
	first, err := c.Announcements(ctx, "")
	c.Close()
	if err != nil {
		b.Fatal(err)
	}

	var next atomic.Int64
	miss := func() string { return laptops[int(next.Add(1))%len(laptops)].Credential }
	var fixed atomic.Int64
	perConn := func() string { return laptops[int(fixed.Add(1))%*conns].Credential }
	none := func() string { return "" }

	b.ResetTimer()
	fmt.Printf("polls: %d connections, %v per case, %d rounds, GOMAXPROCS=%d (client), servers in processes of their own\n", *conns, *dur, *rounds, runtime.GOMAXPROCS(0))
	report := func(name string, r, base pollResult) {
		fmt.Printf("  %-40s %7.0f polls/s (%.2f× trivial)  p50 %-8v p99 %-8v server CPU %5.1f µs/poll  errors %d\n", name, r.rate, r.rate/base.rate,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), float64(r.serverCPU.Nanoseconds())/1000, r.errs)
	}
	// Warm up both servers (TLS session state, SQLite page cache).
	short := *dur
	*dur = time.Second
	poll(b, trivial, ca, none, etag)
	poll(b, portalSrv, ca, miss, first.ETag)
	*dur = short
	var ratios, cpuRatios []float64
	for round := 1; round <= *rounds; round++ {
		fmt.Printf("round %d\n", round)
		base := poll(b, trivial, ca, none, etag)
		report("trivial TLS server, 304", base, base)
		m := poll(b, portalSrv, ca, miss, first.ETag)
		report("portal, credential misses the cache", m, base)
		report("portal, credential in the cache", poll(b, portalSrv, ca, perConn, first.ETag), base)
		report("portal, no credential (the old bench)", poll(b, portalSrv, ca, none, first.ETag), base)
		ratios = append(ratios, m.rate/base.rate)
		cpuRatios = append(cpuRatios, float64(base.serverCPU)/float64(m.serverCPU))
	}
	slices.Sort(ratios)
	slices.Sort(cpuRatios)
	fmt.Printf("miss case against trivial, median of %d rounds: %.2f× the polls/s, %.2f× by server CPU per poll\n",
		*rounds, ratios[len(ratios)/2], cpuRatios[len(cpuRatios)/2])
	b.ReportMetric(ratios[len(ratios)/2], "miss/trivial")
}
