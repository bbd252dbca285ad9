// Package reconnect measures how fast a session comes back after the
// gateway returns, and how fast a lost gateway is shown, with the real
// components: the gateway in a process of its own (killed and restarted
// with the same key, or frozen with SIGSTOP), the userspace tunnel, the
// session's supervisor and the health monitor with its default timing,
// wired as the agent wires them. It runs only when asked:
//
//	DIENSTWEG_BENCH_RECONNECT=10 go test -run TestReconnectFigures -v ./bench/reconnect
package reconnect

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

func TestGatewayProcess(t *testing.T) { gatewaytest.ProcessMain(t) }

// healthTunnel is the engine as health reads it (as agent.healthTunnel).
type healthTunnel struct{ e *tunnel.Userspace }

func (h healthTunnel) LastHandshake() (time.Time, error) {
	st, err := h.e.Stats()
	return st.LastHandshake, err
}
func (h healthTunnel) DialContext(ctx context.Context, n, a string) (net.Conn, error) {
	return h.e.DialContext(ctx, n, a)
}
func (h healthTunnel) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	return h.e.LookupHost(ctx, host)
}

func TestReconnectFigures(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv("DIENSTWEG_BENCH_RECONNECT"))
	if runs <= 0 {
		t.Skip("set DIENSTWEG_BENCH_RECONNECT to the number of runs")
	}
	o := gatewaytest.Start(t, gatewaytest.Options{})
	d := o.Enroll(t, "anna")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := d.Client.EndSession(ctx); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	cfg := o.ProcessConfig(d)
	o.StopGateway()
	gw := gatewaytest.StartProcess(t, "^TestGatewayProcess$", cfg)

	quiet := slog.New(slog.DiscardHandler)
	e := tunnel.NewUserspace(tunnel.UserspaceOptions{Logger: quiet})
	defer e.Down()
	ctl, err := session.New(session.Options{
		Portal: o.Portal.Client(t, nil), Keys: session.StaticKeys{Private: d.PrivateKey, Cred: d.Credential},
		Engine: e, CheckURL: gatewaytest.IntranetURL, Now: o.Portal.Clock.Now, Logger: quiet,
	})
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	defer ctl.Close()
	store := state.NewStore(state.Snapshot{}, nil)
	mon := health.New(health.Deps{Store: store, Portal: health.PortalFunc(func(context.Context) (time.Time, error) { return time.Now(), nil })},
		health.Config{})
	go mon.Run(ctx)
	if err := ctl.Start(ctx, d.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	mon.SessionStarted(healthTunnel{e}, netip.AddrPortFrom(gatewaytest.GatewayAddr, 53).String())

	// The agent's wiring (agent.mirrorSession): verdict edges to the
	// supervisor, a renewed tunnel makes health look again, and what is
	// shown: "Verbunden" when the session is connected and health's
	// verdict agrees (agent.projectSession).
	verbunden := make(chan bool, 64)
	go func() {
		states, stop := ctl.Subscribe()
		defer stop()
		verdicts, stopV := mon.SubscribeVerdict()
		defer stopV()
		var st session.Status
		var v health.Verdict
		last := false
		for {
			select {
			case <-ctx.Done():
				return
			case next := <-states:
				if st.Reconnecting && !next.Reconnecting && next.Phase == state.Connected {
					mon.Trigger("tunnel renewed")
				}
				st = next
			case next := <-verdicts:
				if next.Active && next.GatewayLost != v.GatewayLost {
					if next.GatewayLost {
						ctl.Signal(session.GatewayLost)
					} else {
						ctl.Signal(session.GatewayBack)
					}
				}
				v = next
			}
			now := st.Running && st.Phase == state.Connected && v.Decided && v.Session == state.Connected
			if now != last {
				last = now
				verbunden <- now
			}
		}
	}()
	wait := func(want bool) time.Time {
		deadline := time.After(2 * time.Minute)
		for {
			select {
			case got := <-verbunden:
				if got == want {
					return time.Now()
				}
			case <-deadline:
				t.Fatalf("never verbunden=%v; session %+v, verdict %+v", want, ctl.Status(), mon.Verdict())
			}
		}
	}
	wait(true)

	var restartBack, freezeBack, shownLost []time.Duration
	for range runs {
		time.Sleep(time.Duration(rand.Int64N(int64(3 * time.Second)))) // any phase of the probes
		lost := time.Now()
		gw.Kill()
		shownLost = append(shownLost, wait(false).Sub(lost))
		time.Sleep(time.Duration(rand.Int64N(int64(3 * time.Second))))
		gw = gatewaytest.StartProcess(t, "^TestGatewayProcess$", cfg)
		back := time.Now()
		restartBack = append(restartBack, wait(true).Sub(back))
	}
	for range runs {
		time.Sleep(time.Duration(rand.Int64N(int64(3 * time.Second))))
		lost := time.Now()
		if err := gw.Freeze(); err != nil {
			t.Fatal(err)
		}
		shownLost = append(shownLost, wait(false).Sub(lost))
		time.Sleep(time.Duration(rand.Int64N(int64(3 * time.Second))))
		back := time.Now()
		if err := gw.Thaw(); err != nil {
			t.Fatal(err)
		}
		freezeBack = append(freezeBack, wait(true).Sub(back))
	}
	report := func(name string, ds []time.Duration, goal time.Duration) {
		slices.Sort(ds)
		fmt.Printf("%-34s n=%d min=%v median=%v max=%v (goal ≤ %v)\n", name, len(ds),
			ds[0].Round(time.Millisecond), ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), goal)
	}
	report("restart: return → Verbunden", restartBack, 3*time.Second)
	report("freeze: thaw → Verbunden", freezeBack, 3*time.Second)
	report("loss → shown (kill or freeze)", shownLost, 5*time.Second)
}
