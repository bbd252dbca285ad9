// Command portal benchmarks the reference portal on loopback against slow
// clients. It runs a bounded time and stops by itself.
//
//	go run ./bench/portal -scenario slow -kind all -levels 128,512,2048
//
// Announcement polls are measured by bench/polls (servers in processes of
// their own, credentials that miss the cache, a trivial server to compare
// with), the Monday-morning herd by BenchmarkHerd in app/portal (real
// portal processes, SQLite or PostgreSQL behind HAProxy); see
// docs/performance-portal.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

func main() {
	scenario := flag.String("scenario", "slow", "slow (polls: go test ./bench/polls; herd: BenchmarkHerd in app/portal)")
	inflight := flag.Int("inflight", 128, "server: max requests in flight")
	kind := flag.String("kind", "all", "slow: body, headers, tls, download or all")
	levels := flag.String("levels", "128,512,2048", "slow: numbers of slow clients to try")
	hold := flag.Duration("hold", 4*time.Second, "slow: how long a normal client probes at each level")
	sources := flag.Int("sources", 32, "slow: loopback source addresses the slow clients come from")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	var err error
	switch *scenario {
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
// database must be empty.
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
