// Command health benchmarks the connection health monitor with the real
// clock on loopback: how long from a lost gateway until the state shows
// it, from its return until Connected again, and the CPU the monitor
// spends over idle minutes with a session up. The tunnel is simulated:
// while "lost", every dial through it hangs until the probe's timeout,
// as packets into a dead WireGuard peer do. It stops by itself.
//
//	go run ./bench/health -scenario loss -runs 10
//	go run ./bench/health -scenario idle -idle 10m
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

func main() {
	scenario := flag.String("scenario", "loss", "loss or idle")
	runs := flag.Int("runs", 10, "loss: gateway losses to measure")
	idle := flag.Duration("idle", time.Minute, "idle: how long to measure")
	flag.Parse()
	var err error
	switch *scenario {
	case "loss":
		err = loss(*runs)
	case "idle":
		err = idleCPU(*idle)
	default:
		err = fmt.Errorf("unknown scenario %q", *scenario)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/health:", err)
		os.Exit(1)
	}
}

// tunnel dials loopback; while lost, a dial hangs until its deadline.
type tunnel struct{ lost atomic.Bool }

func (t *tunnel) LastHandshake() (time.Time, error) { return time.Now().Add(-10 * time.Second), nil }

func (t *tunnel) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if t.lost.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (t *tunnel) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if t.lost.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return []netip.Addr{netip.MustParseAddr("10.77.1.10")}, nil
}

type world struct {
	store  *state.Store
	tun    *tunnel
	mon    *health.Monitor
	gwAddr string
	stop   func()
}

func listen() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening: %w", err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

func newWorld() (*world, error) {
	w := &world{tun: &tunnel{}}
	w.store = state.NewStore(state.Snapshot{Session: state.Connecting}, nil)
	inet, stopInet, err := listen()
	if err != nil {
		return nil, err
	}
	gw, stopGW, err := listen()
	if err != nil {
		return nil, err
	}
	w.gwAddr = gw
	captive := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusNoContent) }))
	svc := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { _, _ = rw.Write([]byte("Intranet")) }))
	w.mon = health.New(health.Deps{
		Store:  w.store,
		Routes: health.SystemRoutes(),
		Portal: health.PortalFunc(func(context.Context) (time.Time, error) { return time.Now(), nil }),
	}, health.Config{
		InternetTargets: []string{inet},
		Captive:         health.CaptiveProbe{URL: captive.URL + "/generate_204"},
		OfficeDNSName:   "intranet.musterstadt.example",
		Services:        []profile.HealthTarget{{Name: "Intranet", Kind: "http", Address: svc.URL + "/"}},
		Phone:           "05221 123-4567",
	})
	w.stop = func() { stopInet(); stopGW(); captive.Close(); svc.Close() }
	return w, nil
}

// waitFor returns how long until the verdict's session state is want.
func (w *world) waitFor(want state.Session, limit time.Duration) (time.Duration, error) {
	ch, cancel := w.mon.SubscribeVerdict()
	defer cancel()
	start := time.Now()
	deadline := time.After(limit)
	for {
		select {
		case s := <-ch:
			if s.Decided && s.Session == want {
				return time.Since(start), nil
			}
		case <-deadline:
			return 0, fmt.Errorf("no %v within %v (now %+v)", want, limit, w.mon.Verdict())
		}
	}
}

func loss(runs int) error {
	w, err := newWorld()
	if err != nil {
		return err
	}
	defer w.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.mon.Run(ctx) }()
	w.mon.SessionStarted(w.tun, w.gwAddr)
	if _, err := w.waitFor(state.Connected, 10*time.Second); err != nil {
		return err
	}
	var down, up []time.Duration
	for i := range runs {
		// Lose the gateway at a random phase of the probe schedule.
		time.Sleep(time.Duration(rand.Int64N(int64(3 * time.Second))))
		w.tun.lost.Store(true)
		d, err := w.waitFor(state.Problem, 30*time.Second)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		down = append(down, d)
		time.Sleep(time.Duration(rand.Int64N(int64(3 * time.Second))))
		w.tun.lost.Store(false)
		d, err = w.waitFor(state.Connected, 30*time.Second)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		up = append(up, d)
	}
	report := func(name string, ds []time.Duration, target time.Duration) {
		slices.Sort(ds)
		fmt.Printf("%-28s n=%d min=%v median=%v max=%v (target ≤ %v)\n", name, len(ds),
			ds[0].Round(time.Millisecond), ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), target)
	}
	report("gateway loss → Problem", down, 5*time.Second)
	report("gateway return → Connected", up, 3*time.Second)
	return nil
}

func idleCPU(d time.Duration) error {
	w, err := newWorld()
	if err != nil {
		return err
	}
	defer w.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.mon.Run(ctx) }()
	w.mon.SessionStarted(w.tun, w.gwAddr)
	if _, err := w.waitFor(state.Connected, 10*time.Second); err != nil {
		return err
	}
	ch, unsub := w.store.Subscribe()
	defer unsub()
	<-ch
	publishes := 0
	c0, t0 := cpuTime(), time.Now()
	end := time.After(d)
	for done := false; !done; {
		select {
		case <-ch:
			publishes++
		case <-end:
			done = true
		}
	}
	cpu, wall := cpuTime()-c0, time.Since(t0)
	fmt.Printf("idle with session up for %v: cpu %v = %.4f%% of one core (monitor, probes and the loopback servers answering them)\n",
		wall.Round(time.Second), cpu.Round(time.Microsecond), 100*cpu.Seconds()/wall.Seconds())
	fmt.Printf("store publishes: %d (%.1f per minute)\n", publishes, float64(publishes)/wall.Minutes())
	return nil
}
