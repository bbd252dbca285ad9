package session_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// countingEngine is the real userspace engine, counting what would drop
// the tunnel's connections: a new device (Up) or a fresh handshake.
type countingEngine struct {
	*tunnel.Userspace
	ups, rehandshakes atomic.Int32
}

func (e *countingEngine) Up(ctx context.Context, cfg tunnel.Config) error {
	e.ups.Add(1)
	return e.Userspace.Up(ctx, cfg)
}

func (e *countingEngine) Rehandshake() error {
	e.rehandshakes.Add(1)
	return e.Userspace.Rehandshake()
}

// echoOffice is an office whose gateway also echoes every byte of a TCP
// connection opened with "GET /echo", so a test can hold one connection
// open through the tunnel.
func echoOffice() gatewaytest.Options {
	return gatewaytest.Options{Gateway: func(c *gateway.Config) {
		mux := http.NewServeMux()
		mux.Handle("/", gateway.IntranetHandler("Stadt Musterstadt"))
		mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			io.Copy(conn, rw.Reader) // what was buffered, then the rest
		})
		c.HTTP = mux
	}}
}

// dialEcho opens the echo connection through the tunnel.
func dialEcho(tb testing.TB, e session.Engine) net.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := e.DialContext(ctx, "tcp", gatewaytest.GatewayAddr.String()+":80")
	if err != nil {
		tb.Fatalf("dialling the echo through the tunnel: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, "GET /echo HTTP/1.1\r\nHost: intranet\r\n\r\n"); err != nil {
		tb.Fatalf("asking for the echo: %v", err)
	}
	return conn
}

// echoStats is what one echo connection carried.
type echoStats struct {
	bytes, rounds int
	slowest       time.Duration
}

// pumpEcho sends numbered chunks on conn and reads each back until stop
// is closed, counting the rounds; any difference, error or lost byte
// fails it.
func pumpEcho(conn net.Conn, stop <-chan struct{}, rounds *atomic.Int32) (echoStats, error) {
	var st echoStats
	r := bufio.NewReader(conn)
	got := make([]byte, 1024)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return st, nil
		case <-time.After(2 * time.Millisecond):
		}
		chunk := bytes.Repeat([]byte{byte(i)}, len(got))
		copy(chunk, fmt.Sprintf("chunk %d ", i))
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		t0 := time.Now()
		if _, err := conn.Write(chunk); err != nil {
			return st, fmt.Errorf("round %d: writing: %w", i, err)
		}
		if _, err := io.ReadFull(r, got); err != nil {
			return st, fmt.Errorf("round %d: reading the echo: %w", i, err)
		}
		if !bytes.Equal(got, chunk) {
			return st, fmt.Errorf("round %d: echo differs", i)
		}
		st.slowest = max(st.slowest, time.Since(t0))
		st.bytes += len(got)
		st.rounds++
		rounds.Add(1)
	}
}

// The end of the day in the session: a warning before the authorisation
// ends; a new code extends it while a TCP connection through the tunnel
// goes on echoing, with no new device and no fresh handshake; after the
// new end the session expires and says so.
func TestWarnExtendExpire(t *testing.T) {
	t.Parallel()
	var eng *countingEngine
	r := newRigIn(t, echoOffice(), func(_ testing.TB, o *session.Options, _ *gatewaytest.Office) {
		eng = &countingEngine{Userspace: o.Engine.(*tunnel.Userspace)}
		o.Engine = eng
		o.WarnBefore = 15 * time.Minute
	})
	ctx := context.Background()
	clock := r.office.Portal.Clock
	events, stopEvents := r.ctl.Events()
	defer stopEvents()
	nextEvent := func(want session.EventKind) session.Event {
		t.Helper()
		select {
		case e := <-events:
			if e.Kind != want {
				t.Fatalf("event %v, want %v", e.Kind, want)
			}
			return e
		case <-time.After(30 * time.Second):
			t.Fatalf("no %v event; status %+v", want, r.ctl.Status())
		}
		return session.Event{}
	}

	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	nextEvent(session.Started)
	until := r.ctl.Status().Until
	day := clock.Now()
	if want := time.Date(day.Year(), day.Month(), day.Day(), 20, 0, 0, 0, time.UTC); !until.Equal(want) {
		t.Fatalf("authorised until %v, want %v", until, want)
	}

	// 16 minutes before the end: no warning yet.
	clock.Set(until.Add(-16 * time.Minute))
	time.Sleep(300 * time.Millisecond) // several supervisor rounds (50 ms)
	if st := r.ctl.Status(); st.EndsSoon {
		t.Fatalf("warned 16 minutes before the end: %+v", st)
	}
	// 14 minutes before: the warning, once.
	clock.Set(until.Add(-14 * time.Minute))
	if e := nextEvent(session.EndsSoon); !e.Until.Equal(until) {
		t.Errorf("EndsSoon names %v, want %v", e.Until, until)
	}
	waitStatus(t, r.ctl, func(st session.Status) bool { return st.EndsSoon && st.Phase == state.Connected })

	// Extend while one TCP connection echoes through the tunnel.
	conn := dialEcho(t, eng)
	stop := make(chan struct{})
	done := make(chan error, 1)
	var echoed echoStats
	var rounds atomic.Int32
	go func() {
		var err error
		echoed, err = pumpEcho(conn, stop, &rounds)
		done <- err
	}()
	// Rounds before and after the extension, however fast the machine.
	waitRounds := func(n int32) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for rounds.Load() < n {
			select {
			case err := <-done:
				t.Fatalf("the connection through the tunnel broke: %v", err)
			case <-time.After(5 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d rounds echoed", rounds.Load(), n)
			}
		}
	}
	waitRounds(5)
	before, err := eng.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	ups, rehs := eng.ups.Load(), eng.rehandshakes.Load()
	during, t0 := rounds.Load(), time.Now()
	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err != nil { // the code prompt's call
		t.Fatalf("extending: %v", err)
	}
	took := time.Since(t0)
	during = rounds.Load() - during
	e := nextEvent(session.Extended)
	waitRounds(rounds.Load() + 5)
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("the connection through the tunnel broke across the extension: %v", err)
	}
	after, _ := eng.Stats()
	t.Logf("echoed %d bytes in %d rounds on one connection across the extension (%d rounds while it took %v); slowest round %v",
		echoed.bytes, echoed.rounds, during, took.Round(time.Millisecond), echoed.slowest)
	if eng.ups.Load() != ups || eng.rehandshakes.Load() != rehs || !after.LastHandshake.Equal(before.LastHandshake) {
		t.Errorf("the extension touched the tunnel: Up %d→%d, Rehandshake %d→%d, handshake %v→%v",
			ups, eng.ups.Load(), rehs, eng.rehandshakes.Load(), before.LastHandshake, after.LastHandshake)
	}
	newEnd := until.Add(2 * time.Hour) // the portal's extension without rules
	st := r.ctl.Status()
	if !e.Until.Equal(newEnd) || !st.Until.Equal(newEnd) || st.EndsSoon || st.Phase != state.Connected || !st.Running ||
		st.Detail == nil || st.Detail.Args["Until"] != newEnd.In(time.Local).Format("15:04") {
		t.Errorf("after the extension: event until %v, status %+v; want until %v, connected, no warning", e.Until, st, newEnd)
	}
	r.office.WaitAdmitted(t, r.dev, true)

	// A wrong code leaves the session as it was and says why.
	err = r.ctl.Start(ctx, authcodetest.Code(t, r.dev.Secret, clock.Now().Add(time.Hour)))
	if p, ok := problem.As(err); !ok || p.Kind != problem.Denied {
		t.Errorf("extending with a wrong code: %v, want a denied problem", err)
	}
	if st := r.ctl.Status(); st.Phase != state.Connected || !st.Running || !st.Until.Equal(newEnd) {
		t.Errorf("after a wrong code: %+v", st)
	}

	// Past the new end: the portal no longer authorises; the session
	// expires, the tunnel goes down, and the status says so.
	clock.Set(newEnd.Add(time.Second))
	nextEvent(session.Expired)
	st = r.ctl.Status()
	if st.Phase != state.CodeNeeded || !st.Expired || st.Running || st.EndsSoon || st.Detail == nil || st.Detail.Key != session.KeyExpired {
		t.Errorf("after the end: %+v", st)
	}
	if _, err := eng.Stats(); err == nil {
		t.Error("the tunnel is still up after the authorisation ended")
	}
	// A new code starts the next session; expired is over.
	clock.Set(newEnd.Add(-time.Hour).AddDate(0, 0, 1))
	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err != nil {
		t.Fatalf("Start the next day: %v", err)
	}
	if st := r.ctl.Status(); st.Expired || st.Phase != state.Connected {
		t.Errorf("the next day: %+v", st)
	}
}

// An end the portal moved later (IT extended it) takes the warning back
// once the session learns of it, at the old end.
func TestWarningTakenBackWhenThePortalMovedTheEnd(t *testing.T) {
	t.Parallel()
	r := newRig(t, portaltest.Options{}, func(_ testing.TB, o *session.Options, _ *gatewaytest.Office) { o.WarnBefore = 15 * time.Minute })
	ctx := context.Background()
	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	clock := r.office.Portal.Clock
	until := r.ctl.Status().Until
	clock.Set(until.Add(-10 * time.Minute))
	waitStatus(t, r.ctl, func(st session.Status) bool { return st.EndsSoon })
	later := until.Add(3 * time.Hour)
	if err := r.office.Portal.Store.SetAuthorisation(ctx, r.dev.Reg.DeviceID, later, clock.Now()); err != nil {
		t.Fatalf("SetAuthorisation: %v", err)
	}
	clock.Set(until.Add(time.Second))
	waitStatus(t, r.ctl, func(st session.Status) bool { return st.Until.Equal(later) && !st.EndsSoon })
	if st := r.ctl.Status(); !st.Running || st.Expired {
		t.Errorf("after the portal moved the end: %+v", st)
	}
}

// Outside the working hours a start is refused in plain words, and
// nothing runs: not connected, not a problem to call the IT service about.
func TestStartOutsideWorkingHours(t *testing.T) {
	t.Parallel()
	y, m, d := time.Now().UTC().Date()
	r := newRig(t, portaltest.Options{
		Clock: portaltest.NewClock(time.Date(y, m, d, 5, 29, 0, 0, time.UTC)),
		Config: portalsrv.Config{Hours: &portalsrv.Hours{Rules: []portalsrv.HoursRule{
			{Groups: []string{"*"}, From: "06:00", End: "19:00", Latest: "21:00"},
		}}},
	}, nil)
	err := r.ctl.Start(context.Background(), r.dev.NextCode(t))
	p, ok := problem.As(err)
	from := time.Date(y, m, d, 6, 0, 0, 0, time.UTC).In(time.Local).Format("15:04") // as the employee reads it
	if !ok || p.Msg.Key != portal.KeyOutsideHoursToday && p.Msg.Key != portal.KeyOutsideHoursLater || p.Msg.Args["Time"] != from {
		t.Fatalf("Start at 05:29 = %v, want outside hours until %s", err, from)
	}
	if st := r.ctl.Status(); st.Phase != state.NotConnected || st.Running || st.Detail == nil || st.Detail.Key != p.Msg.Key {
		t.Errorf("after the refusal: %+v", st)
	}
}
