package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runAs is the unprivileged user the server runs as; nil means the
// current user.
type runAs struct {
	name     string
	uid, gid uint32
}

// serverUser picks who runs the server: the current user, or, as root,
// postgres (made by the Debian package) or else nobody.
func serverUser() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &runAs{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root, and neither the user postgres nor nobody exists to run the server; install the Debian package %s, which creates postgres", debianPackage)
}

func (r *runAs) chown(dir string) error {
	if r == nil {
		return nil
	}
	if err := os.Chown(dir, int(r.uid), int(r.gid)); err != nil {
		return fmt.Errorf("handing %s to %s: %w", dir, r.name, err)
	}
	return nil
}

func (r *runAs) apply(cmd *exec.Cmd) error {
	if r == nil {
		return nil
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: r.uid, Gid: r.gid, NoSetGroups: true}
	return nil
}

// serverProcess is postgres run directly rather than through pg_ctl, so
// that it is our child: Pdeathsig stops it when the test binary dies
// (a -timeout panic, a kill), instead of leaving a server behind.
type serverProcess struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when postgres has exited
	quit chan struct{} // closed to release the thread that started it
}

// startServer starts postgres on a goroutine locked to its OS thread
// until stop: Pdeathsig fires when the thread that forked the child
// ends, not the process, and the Go runtime may end an unlocked thread.
func startServer(path string, args []string, dir, logPath string, run *runAs) (*serverProcess, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// SIGQUIT is PostgreSQL's immediate shutdown.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if err := run.apply(cmd); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &serverProcess{cmd: cmd, done: make(chan struct{}), quit: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		started <- err
		if err != nil {
			return
		}
		go func() {
			cmd.Wait()
			logFile.Close()
			close(p.done)
		}()
		<-p.quit
	}()
	if err := <-started; err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	return p, nil
}

func (p *serverProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks for a fast shutdown (SIGINT: disconnect clients, checkpoint)
// and kills the server if that takes too long.
func (p *serverProcess) stop() error {
	defer close(p.quit)
	if p.exited() {
		return errors.New("postgres had exited before the tests ended")
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return errors.New("postgres did not stop within 30 s of SIGINT; killed")
	}
}

// serverAlive says whether the postmaster of pidFile still runs.
func serverAlive(pidFile string) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return false
	}
	// EPERM: alive, but another user's (the server runs as postgres).
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
