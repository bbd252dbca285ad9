package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/herd"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

var (
	herdLaptops = flag.Int("herd.laptops", 5800, "laptops in the herd")
	herdWindows = flag.String("herd.windows", "5s,60s", "windows the laptops wake in, one run each")
	herdServe   = flag.String("herd.serve-args", "", "space-separated extra flags for each portal's serve command")
	herdDumpLog = flag.String("herd.balancer-log", "", "write HAProxy's log here")
	herdSetups  = flag.String("herd.setups", "sqlite-1,postgres-2", "sqlite-1: one instance on SQLite; postgres-2: two on PostgreSQL behind HAProxy")
)

var shedRe = regexp.MustCompile(`portal stopped.* shed=(\d+)`)

// BenchmarkHerd plays the Monday-morning herd against real portal
// processes, one run per setup and window:
//
//	go test -run '^$' -bench Herd -benchtime 1x -timeout 30m ./app/portal/
func BenchmarkHerd(b *testing.B) {
	for _, setup := range strings.Split(*herdSetups, ",") {
		for _, w := range strings.Split(*herdWindows, ",") {
			window, err := time.ParseDuration(w)
			if err != nil {
				b.Fatalf("-herd.windows: %v", err)
			}
			b.Run(setup+"/"+w, func(b *testing.B) {
				o := clusterOptions{instances: 1}
				switch setup {
				case "sqlite-1":
				case "postgres-2":
					o = clusterOptions{instances: 2, postgres: true, balancer: true}
				default:
					b.Fatalf("unknown setup %q", setup)
				}
				o.serveArgs = strings.Fields(*herdServe)
				var laptops []herd.Laptop
				o.seed = func(st store.Store) {
					parallel := 1
					if o.postgres {
						parallel = 8
					}
					if laptops, err = herd.Seed(context.Background(), st, *herdLaptops, parallel); err != nil {
						b.Fatal(err)
					}
				}
				c := newCluster(b, o)
				b.ResetTimer()
				cpu0 := selfCPU()
				res := herd.Run(context.Background(), herd.Options{URL: c.url(), CAPEM: c.caPEM, Laptops: laptops, Window: window})
				b.StopTimer()
				clientCPU := selfCPU() - cpu0
				shed := 0
				var cpu time.Duration
				for _, p := range c.portals {
					cpu += p.CPU()
					p.Stop()
					m := shedRe.FindStringSubmatch(p.Log())
					if m == nil {
						b.Fatalf("portal logged no counters:\n%s", p.Log())
					}
					n, _ := strconv.Atoi(m[1])
					shed += n
				}
				fmt.Printf("herd %s, %d laptops within %v (GOMAXPROCS=%d): %v; shed with 503: %d; CPU: portals %v, clients %v\n", setup, len(laptops), window, runtime.GOMAXPROCS(0), res, shed, cpu.Round(10*time.Millisecond), clientCPU.Round(10*time.Millisecond))
				if c.lb != nil {
					// HAProxy's termination states: "--" is a normal end;
					// see its manual, "Session state at disconnection".
					states := map[string]int{}
					for _, l := range strings.Split(c.lb.Log(), "\n") {
						if f := strings.Fields(l); len(f) > 10 && len(f[10]) == 2 {
							states[f[10]]++
						}
					}
					fmt.Printf("  balancer connections by termination state: %v\n", states)
					for _, l := range strings.Split(c.lb.Log(), "\n") {
						if strings.Contains(l, "is DOWN") || strings.Contains(l, "is UP") || strings.Contains(l, "no server available") {
							fmt.Printf("  balancer: %s\n", l)
						}
					}
					if *herdDumpLog != "" {
						os.WriteFile(*herdDumpLog, []byte(c.lb.Log()), 0o600)
					}
				}
				for _, err := range res.FirstErrors {
					fmt.Printf("  e.g. %v\n", err)
				}
				b.ReportMetric(float64(res.P50.Milliseconds()), "p50-ms")
				b.ReportMetric(float64(res.P99.Milliseconds()), "p99-ms")
				b.ReportMetric(float64(shed), "shed")
				b.ReportMetric(float64(res.GaveUp), "gave-up")
			})
		}
	}
}
