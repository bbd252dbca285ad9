package helper

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// listenPipe opens the helper's named pipe with the security descriptor
// of pipeSDDL. The pipe rejects remote clients (go-winio sets
// PIPE_REJECT_REMOTE_CLIENTS).
func listenPipe(path, groupSID string) (net.Listener, error) {
	sddl, err := pipeSDDL(groupSID, runningAsSystem())
	if err != nil {
		return nil, err
	}
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: sddl, InputBufferSize: 64 << 10, OutputBufferSize: 64 << 10})
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	return ln, nil
}

// runningAsSystem reports whether this process is LocalSystem (the
// service), which may make SYSTEM the pipe's owner.
func runningAsSystem() bool {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	return err == nil && u.User.Sid.String() == sidLocalSystem
}

// pipeCaller finds out, once per connection, who is at the other end.
// It asks only when the first request has arrived: Windows lets the
// server take on a client's identity only after reading from the pipe.
type pipeCaller struct {
	conn net.Conn
	once sync.Once
	c    winCaller
	err  error
}

func (p *pipeCaller) get() (winCaller, error) {
	p.once.Do(func() { p.c, p.err = callerOf(p.conn) })
	return p.c, p.err
}

type pipeCallerKey struct{}

func withPipeCaller(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, pipeCallerKey{}, &pipeCaller{conn: c})
}

func pipeCallerFrom(ctx context.Context) (winCaller, error) {
	p, ok := ctx.Value(pipeCallerKey{}).(*pipeCaller)
	if !ok {
		return winCaller{}, errors.New("no pipe connection")
	}
	return p.get()
}

// callerOf reads the client's token through ImpersonateNamedPipeClient:
// the kernel hands over the token the client opened the pipe with, so a
// client cannot claim to be someone else. The client's process id
// (GetNamedPipeClientProcessId) is not used: a process id names a
// process, not a user, and can be reused.
func callerOf(c net.Conn) (winCaller, error) {
	fd, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return winCaller{}, fmt.Errorf("not a pipe connection: %T", c)
	}
	tok, err := impersonationToken(windows.Handle(fd.Fd()))
	if err != nil {
		return winCaller{}, err
	}
	defer tok.Close()
	return callerOfToken(tok)
}

// impersonationToken takes on the pipe client's identity on a thread of
// its own, copies the thread's token, and reverts. It runs in a fresh
// goroutine: if reverting fails, that goroutine ends with its thread
// still locked, and Go then discards the thread, so no other code runs
// as the client.
func impersonationToken(h windows.Handle) (windows.Token, error) {
	type result struct {
		tok windows.Token
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := impersonateNamedPipeClient(h); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("reading the caller's identity: %w", err)}
			return
		}
		var tok windows.Token
		// openAsSelf: the access check uses the helper's own token,
		// not the client's (which may not open its own thread token).
		err := windows.OpenThreadToken(windows.CurrentThread(), windows.TOKEN_QUERY, true, &tok)
		if rerr := windows.RevertToSelf(); rerr != nil {
			if err == nil {
				tok.Close()
			}
			ch <- result{err: fmt.Errorf("reverting from the caller's identity: %w", rerr)}
			return // the thread stays locked and is discarded
		}
		runtime.UnlockOSThread()
		if err != nil {
			// An anonymous client (the go-winio and wireguard dialers'
			// default) ends here: ERROR_CANT_OPEN_ANONYMOUS.
			err = fmt.Errorf("reading the caller's token (the client must allow identification): %w", err)
		}
		ch <- result{tok, err}
	}()
	r := <-ch
	return r.tok, r.err
}

// callerOfToken lists the token's user and its enabled groups.
func callerOfToken(tok windows.Token) (winCaller, error) {
	u, err := tok.GetTokenUser()
	if err != nil {
		return winCaller{}, fmt.Errorf("reading the caller's user: %w", err)
	}
	gs, err := tok.GetTokenGroups()
	if err != nil {
		return winCaller{}, fmt.Errorf("reading the caller's groups: %w", err)
	}
	c := winCaller{User: u.User.Sid.String()}
	for _, g := range gs.AllGroups() {
		// A deny-only group (Administrators in a UAC-filtered token)
		// is not enabled and counts for nothing.
		if g.Attributes&windows.SE_GROUP_ENABLED != 0 && g.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY == 0 {
			c.Groups = append(c.Groups, g.Sid.String())
		}
	}
	return c, nil
}

var (
	modadvapi32                    = windows.NewLazySystemDLL("advapi32.dll")
	procImpersonateNamedPipeClient = modadvapi32.NewProc("ImpersonateNamedPipeClient")
)

// impersonateNamedPipeClient is not in golang.org/x/sys/windows.
func impersonateNamedPipeClient(h windows.Handle) error {
	if err := procImpersonateNamedPipeClient.Find(); err != nil {
		return err
	}
	r, _, e := procImpersonateNamedPipeClient.Call(uintptr(h))
	if r == 0 {
		return e
	}
	return nil
}
