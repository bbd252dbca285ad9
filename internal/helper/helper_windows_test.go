package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
)

// The service handler's logic needs no service manager: Execute is driven
// with channels, as the manager would.
func TestServiceHandlerStartResumeStop(t *testing.T) {
	stopped := make(chan struct{})
	woke := make(chan struct{}, 1)
	h := &serviceHandler{log: slog.New(slog.DiscardHandler), run: func(ctx context.Context, ready func(), resumed <-chan struct{}) error {
		ready()
		for {
			select {
			case <-ctx.Done():
				close(stopped)
				return nil
			case <-resumed:
				woke <- struct{}{}
			}
		}
	}}
	req := make(chan svc.ChangeRequest)
	st := make(chan svc.Status, 10)
	type ret struct {
		ssec bool
		code uint32
	}
	done := make(chan ret, 1)
	go func() {
		ssec, code := h.Execute(nil, req, st)
		done <- ret{ssec, code}
	}()
	expect := func(want svc.State) svc.Status {
		t.Helper()
		select {
		case s := <-st:
			if s.State != want {
				t.Fatalf("status %v, want %v", s.State, want)
			}
			return s
		case <-time.After(10 * time.Second):
			t.Fatalf("no status %v", want)
		}
		return svc.Status{}
	}
	expect(svc.StartPending)
	if s := expect(svc.Running); s.Accepts != svc.AcceptStop|svc.AcceptShutdown|svc.AcceptPowerEvent {
		t.Errorf("accepts %v", s.Accepts)
	}
	req <- svc.ChangeRequest{Cmd: svc.Interrogate}
	expect(svc.Running)
	// A suspend is not a wake-up; a resume is.
	req <- svc.ChangeRequest{Cmd: svc.PowerEvent, EventType: 0x4} // PBT_APMSUSPEND
	req <- svc.ChangeRequest{Cmd: svc.PowerEvent, EventType: pbtAPMResumeAutomatic}
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("the resume did not reach run")
	}
	select {
	case <-woke:
		t.Fatal("the suspend counted as a wake-up")
	default:
	}
	req <- svc.ChangeRequest{Cmd: svc.Stop}
	expect(svc.StopPending)
	expect(svc.Stopped)
	r := <-done
	if r.ssec || r.code != 0 {
		t.Errorf("Execute = %v, %d; want false, 0", r.ssec, r.code)
	}
	select {
	case <-stopped:
	default:
		t.Error("run's context was not cancelled")
	}
}

func TestServiceHandlerRunFails(t *testing.T) {
	h := &serviceHandler{log: slog.New(slog.DiscardHandler), run: func(context.Context, func(), <-chan struct{}) error {
		return errors.New("pipe taken")
	}}
	st := make(chan svc.Status, 10)
	ssec, code := h.Execute(nil, make(chan svc.ChangeRequest), st)
	if !ssec || code != 1 {
		t.Errorf("Execute = %v, %d; want true, 1", ssec, code)
	}
	if h.err == nil || h.err.Error() != "pipe taken" {
		t.Errorf("err = %v", h.err)
	}
	var last svc.Status
	for len(st) > 0 {
		last = <-st
	}
	if last.State != svc.Stopped {
		t.Errorf("last status %v, want stopped", last.State)
	}
}

// The SDDL string must be one Windows accepts; the service's is owned by
// SYSTEM.
func TestPipeSDDLParses(t *testing.T) {
	for _, g := range []string{"", "S-1-5-32-545"} {
		for _, system := range []bool{true, false} {
			s, err := pipeSDDL(g, system)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := windows.SecurityDescriptorFromString(s)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			if !sd.IsValid() {
				t.Errorf("%s: not valid", s)
			}
			if !system {
				continue
			}
			owner, _, err := sd.Owner()
			if err != nil {
				t.Fatal(err)
			}
			if owner.String() != sidLocalSystem {
				t.Errorf("owner %s, want SYSTEM", owner)
			}
		}
	}
}

func TestCallerOfTokenCurrentProcess(t *testing.T) {
	tok := windows.GetCurrentProcessToken()
	c, err := callerOfToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	u, err := tok.GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	if c.User != u.User.Sid.String() {
		t.Errorf("user %s, want %s", c.User, u.User.Sid)
	}
	if !slices.Contains(c.Groups, "S-1-1-0") {
		t.Errorf("groups %v lack Everyone", c.Groups)
	}
}

// pipePair listens on a fresh pipe and connects with dial; it returns the
// server's end after one byte went across (Windows shows the client's
// identity only after a read).
func pipePair(t *testing.T, dial func(ctx context.Context, path string) (net.Conn, error)) net.Conn {
	t.Helper()
	path := fmt.Sprintf(`\\.\pipe\dienstweg-helper-test-%d-%d`, os.Getpid(), time.Now().UnixNano())
	ln, err := listenPipe(path, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, err := dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	if _, err := cc.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	// Wine 8 never completes the server's ConnectNamedPipe: fail, not
	// hang (docs/windows.md lists these tests as Windows-only).
	var sc net.Conn
	select {
	case sc = <-accepted:
	case <-ctx.Done():
		t.Fatal("the pipe server accepted no connection")
	}
	if sc == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { sc.Close() })
	if _, err := io.ReadFull(sc, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return sc
}

// identDial dials as helperapi.DialPipe does (identification level), but
// accepts the test's own pipe, which is not owned by SYSTEM.
func identDial(ctx context.Context, path string) (net.Conn, error) {
	return winio.DialPipeAccessImpLevel(ctx, path, windows.FILE_GENERIC_READ|windows.FILE_WRITE_DATA, winio.PipeImpLevelIdentification)
}

// The helper reads the caller from the pipe: here this test process. (The
// test runs as an administrator: the pipe admits SYSTEM and
// Administrators only.)
func TestPipeCallerIsTheClient(t *testing.T) {
	sc := pipePair(t, identDial)
	c, err := callerOf(sc)
	if err != nil {
		t.Fatal(err)
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	if c.User != u.User.Sid.String() {
		t.Errorf("caller %s, want this process's user %s", c.User, u.User.Sid)
	}
}

// A client that hides its identity (go-winio's default, anonymous) is
// not taken for anyone.
func TestPipeAnonymousCallerRefused(t *testing.T) {
	sc := pipePair(t, winio.DialPipeContext)
	if c, err := callerOf(sc); err == nil {
		t.Errorf("anonymous client identified as %+v", c)
	}
}
