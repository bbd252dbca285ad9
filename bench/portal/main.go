// Command portal benchmarks the reference portal on loopback: announcement
// polls answered with 304 (throughput and latency), and a simulated Monday
// 08:00 where thousands of laptops start their session within a minute.
// It runs a bounded time and stops by itself.
//
//	go run ./bench/portal -scenario polls
//	go run ./bench/portal -scenario herd -clients 5800 -window 60s
//	DIENSTWEG_PORTAL_DATABASE=postgres://… go run ./bench/portal -scenario herd …
//	go run ./bench/portal -scenario slow -kind all -levels 128,512,2048
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
)

func main() {
	scenario := flag.String("scenario", "polls", "polls, herd or slow")
	conns := flag.Int("conns", 64, "polls: concurrent clients (connections)")
	dur := flag.Duration("duration", 10*time.Second, "polls: how long each run lasts")
	rate := flag.Int("rate", 5000, "polls: paced request rate for the latency run")
	clients := flag.Int("clients", 5800, "herd: laptops")
	window := flag.Duration("window", 60*time.Second, "herd: laptops start uniformly within this window")
	inflight := flag.Int("inflight", 128, "server: max requests in flight")
	kind := flag.String("kind", "all", "slow: body, headers, tls, download or all")
	levels := flag.String("levels", "128,512,2048", "slow: numbers of slow clients to try")
	hold := flag.Duration("hold", 4*time.Second, "slow: how long a normal client probes at each level")
	sources := flag.Int("sources", 32, "slow: loopback source addresses the slow clients come from")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	var err error
	switch *scenario {
	case "polls":
		err = polls(*conns, *dur, *rate, *inflight)
	case "herd":
		err = herd(*clients, *window, *inflight)
	case "slow":
		err = slowClients(*kind, *levels, *hold, *sources, *inflight)
	default:
		err = fmt.Errorf("unknown scenario %q", *scenario)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type portalEnv struct {
	url, ca string
	dir     string
	srv     *portalsrv.Server
	st      store.Store
	stop    func()
}

// openStore opens the PostgreSQL database named by
// DIENSTWEG_PORTAL_DATABASE, as the portal does, else SQLite in dir. The
// database must be empty: the herd seeds its users.
func openStore(ctx context.Context, dir string) (store.Store, error) {
	if conn := os.Getenv("DIENSTWEG_PORTAL_DATABASE"); conn != "" {
		fmt.Println("store: postgres")
		st, err := store.OpenPostgres(ctx, conn)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	fmt.Println("store: sqlite")
	return store.OpenSQLite(ctx, filepath.Join(dir, "portal.db"))
}

func startPortal(inflight int, mods ...func(*portalsrv.Config)) (*portalEnv, error) {
	dir, err := os.MkdirTemp("", "portal-bench-")
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	st, err := openStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	cfg := portalsrv.Config{
		Tunnel: portalsrv.TunnelConfig{
			Pool:             netip.MustParsePrefix("10.64.0.0/16"),
			GatewayEndpoint:  "127.0.0.1:51820",
			GatewayPublicKey: base64.StdEncoding.EncodeToString(key),
		},
		MaxInFlight: inflight,
		ReleaseDir:  filepath.Join(dir, "releases"),
	}
	for _, m := range mods {
		m(&cfg)
	}
	srv, err := portalsrv.New(cfg, st)
	if err != nil {
		return nil, err
	}
	mat, err := portalsrv.LoadOrCreateTLS(filepath.Join(dir, "tls"), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Serve(sctx, ln, mat.Config()); close(done) }()
	return &portalEnv{
		url: "https://" + ln.Addr().String(), ca: string(mat.CAPEM), srv: srv, st: st, dir: dir,
		stop: func() { cancel(); <-done; st.Close(); os.RemoveAll(dir) },
	}, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func polls(conns int, dur time.Duration, rate, inflight int) error {
	env, err := startPortal(inflight)
	if err != nil {
		return err
	}
	defer env.stop()
	now := time.Now()
	for i, sev := range []string{"info", "maintenance"} {
		err := env.st.PutAnnouncement(context.Background(), store.Announcement{
			ID: fmt.Sprintf("a%d", i), Severity: sev, TitleDE: "Titel", TitleEN: "Title", BodyDE: "Text", BodyEN: "Text",
			ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour), Audience: []string{"all"}, UpdatedAt: now,
		})
		if err != nil {
			return err
		}
	}
	fmt.Printf("portal polls: GOMAXPROCS=%d, %d connections, HTTPS (TLS 1.3), client and server in one process\n", runtime.GOMAXPROCS(0), conns)

	run := func(label string, interval time.Duration) error {
		var (
			mu   sync.Mutex
			lats []time.Duration
			errs atomic.Int64
			n304 atomic.Int64
		)
		start := time.Now()
		deadline := start.Add(dur)
		var wg sync.WaitGroup
		for w := 0; w < conns; w++ {
			c, err := portal.New(portal.Config{BaseURL: env.url, CAPEM: env.ca, Retry: portal.RetryPolicy{MaxAttempts: 1}})
			if err != nil {
				return err
			}
			first, err := c.Announcements(context.Background(), "")
			if err != nil {
				return err
			}
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				defer c.Close()
				local := make([]time.Duration, 0, 4096)
				next := start.Add(time.Duration(w) * interval / time.Duration(conns))
				for {
					sched := time.Now()
					if interval > 0 {
						if d := time.Until(next); d > 0 {
							time.Sleep(d)
						}
						// Latency counts from the scheduled send time, so a
						// slow answer that delays the next send is not hidden.
						sched = next
						next = next.Add(interval)
					}
					if sched.After(deadline) {
						break
					}
					res, err := c.Announcements(context.Background(), first.ETag)
					lat := time.Since(sched)
					if err != nil {
						errs.Add(1)
						continue
					}
					if res.NotModified {
						n304.Add(1)
					}
					local = append(local, lat)
				}
				mu.Lock()
				lats = append(lats, local...)
				mu.Unlock()
			}(w)
		}
		wg.Wait()
		elapsed := time.Since(start)
		slices.Sort(lats)
		fmt.Printf("%-28s %8.0f polls/s  304s=%d errors=%d  p50=%v p99=%v max=%v\n", label,
			float64(n304.Load())/elapsed.Seconds(), n304.Load(), errs.Load(),
			percentile(lats, 0.50).Round(10*time.Microsecond), percentile(lats, 0.99).Round(10*time.Microsecond),
			percentile(lats, 1).Round(10*time.Microsecond))
		return nil
	}
	if err := run("closed loop (max rate)", 0); err != nil {
		return err
	}
	// Each connection sends every conns/rate seconds.
	return run(fmt.Sprintf("paced at %d/s", rate), time.Duration(float64(time.Second)*float64(conns)/float64(rate)))
}

// herd: every laptop wakes at a random moment in the window, asks for its
// session state, authorises with a fresh code, and reads announcements,
// each call with the real client's retries and jittered backoff.
func herd(clients int, window time.Duration, inflight int) error {
	// All laptops come from 127.0.0.1 here; in the field each has its own
	// address, so the per-address connection cap must not count them.
	env, err := startPortal(inflight, func(c *portalsrv.Config) { c.MaxConnsPerSource = -1 })
	if err != nil {
		return err
	}
	defer env.stop()
	ctx := context.Background()
	now := time.Now()
	env.st.PutAnnouncement(ctx, store.Announcement{ID: "m", Severity: "maintenance", TitleDE: "T", TitleEN: "T",
		ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour), Audience: []string{"all"}, UpdatedAt: now})

	type laptop struct {
		cred, secret string
	}
	laptops := make([]laptop, clients)
	seedStart := time.Now()
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.64.0.0/16"), First: netip.MustParseAddr("10.64.0.10")}
	for i := range laptops {
		name := fmt.Sprintf("user%05d", i)
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "Bench", AccountName: name})
		if err != nil {
			return err
		}
		if err := env.st.CreateUser(ctx, store.User{Name: name, DisplayName: name, CreatedAt: now, TOTPSecret: key.Secret(), EnrolledAt: now}); err != nil {
			return err
		}
		tok := make([]byte, 32)
		rand.Read(tok)
		cred := "dwd1_" + base64.RawURLEncoding.EncodeToString(tok)
		// The portal stores the hex SHA-256 of the credential (docs/portal.md).
		sum := sha256.Sum256([]byte(cred))
		pk := make([]byte, 32)
		rand.Read(pk)
		_, err = env.st.RegisterDevice(ctx, store.Device{
			ID: fmt.Sprintf("dev_%05d", i), User: name, PublicKey: base64.StdEncoding.EncodeToString(pk),
			CredentialHash: hex.EncodeToString(sum[:]), EnrollmentHash: name, CreatedAt: now,
		}, pool)
		if err != nil {
			return err
		}
		laptops[i] = laptop{cred: cred, secret: key.Secret()}
	}
	fmt.Printf("herd: %d laptops seeded in %v; starting within %v, server max in flight %d, GOMAXPROCS=%d\n",
		clients, time.Since(seedStart).Round(time.Millisecond), window, inflight, runtime.GOMAXPROCS(0))

	var (
		calls, sleeps            atomic.Int64
		gaveUp, ok, wrongOrOther atomic.Int64
		mu                       sync.Mutex
		durations                []time.Duration
		maxWait                  atomic.Int64
	)
	start := time.Now()
	var wg sync.WaitGroup
	for i, l := range laptops {
		wg.Add(1)
		go func(i int, l laptop) {
			defer wg.Done()
			time.Sleep(time.Duration(mrand.Int64N(int64(window))))
			t0 := time.Now()
			c, err := portal.New(portal.Config{
				BaseURL: env.url, CAPEM: env.ca, Credential: l.cred,
				Sleep: func(ctx context.Context, d time.Duration) error {
					sleeps.Add(1)
					for {
						m := maxWait.Load()
						if int64(d) <= m || maxWait.CompareAndSwap(m, int64(d)) {
							break
						}
					}
					time.Sleep(d)
					return nil
				},
			})
			if err != nil {
				panic(err)
			}
			defer c.Close()
			count := func(err error) error { calls.Add(1); return err }
			_, err = c.SessionStatus(ctx)
			if count(err) == nil {
				code, _ := authcodetest.Generate(l.secret, time.Now())
				_, err = c.AuthoriseSession(ctx, code)
				if count(err) == nil {
					_, err = c.Announcements(ctx, "")
					count(err)
				}
			}
			switch {
			case err == nil:
				ok.Add(1)
				mu.Lock()
				durations = append(durations, time.Since(t0))
				mu.Unlock()
			case errors.Is(err, portal.ErrOverloaded) || errors.Is(err, portal.ErrUnreachable):
				gaveUp.Add(1)
			default:
				wrongOrOther.Add(1)
				fmt.Fprintln(os.Stderr, "laptop", i, err)
			}
		}(i, l)
	}
	wg.Wait()
	st := env.srv.Stats()
	slices.Sort(durations)
	fmt.Printf("herd done in %v\n", time.Since(start).Round(time.Millisecond))
	fmt.Printf("  requests made:        %d (served %d, shed with 503: %d)\n", st.Served+st.Shed, st.Served, st.Shed)
	fmt.Printf("  client calls:         %d; backoff waits: %d (longest %v)\n", calls.Load(), sleeps.Load(), time.Duration(maxWait.Load()).Round(time.Millisecond))
	fmt.Printf("  laptops in session:   %d of %d; gave up: %d; other errors: %d\n", ok.Load(), clients, gaveUp.Load(), wrongOrOther.Load())
	fmt.Printf("  time to session (status+authorise+announcements, incl. TLS handshake): p50=%v p99=%v max=%v\n",
		percentile(durations, 0.5).Round(time.Millisecond), percentile(durations, 0.99).Round(time.Millisecond), percentile(durations, 1).Round(time.Millisecond))
	return nil
}
