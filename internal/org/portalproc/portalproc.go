// Package portalproc runs `dienstweg-portal serve` as a separate process,
// for tests and benchmarks of several portal instances: each can be
// killed on its own (SIGKILL, as a crash or an OOM kill would).
package portalproc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Instance is a running portal process.
type Instance struct {
	// Addr is host:port it listens on.
	Addr string

	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  bytes.Buffer
}

// Start runs bin with args (the serve command and its flags; --listen
// should be a port-0 address) and env added to the environment, and
// returns once the portal says where it listens.
func Start(bin string, env []string, args ...string) (*Instance, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cmd.Environ(), env...)
	in := &Instance{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	// Writers, not pipes: Wait returns only after all output is copied,
	// so the last lines (the counters at shutdown) are never lost.
	cmd.Stdout = &lineWriter{log: in.logWriter(), line: func(l string) {
		if a, ok := strings.CutPrefix(l, "portal on https://"); ok {
			select {
			case addr <- a:
			default:
			}
		}
	}}
	cmd.Stderr = in.logWriter()
	if err := StartChild(cmd, in.done); err != nil {
		return nil, fmt.Errorf("starting portal: %w", err)
	}
	select {
	case in.Addr = <-addr:
		return in, nil
	case <-in.done:
		return nil, fmt.Errorf("portal exited before listening: %s", in.Log())
	case <-time.After(30 * time.Second):
		in.Kill()
		return nil, errors.New("portal did not start within 30 s: " + in.Log())
	}
}

// lineWriter passes output to log and each complete line to line.
type lineWriter struct {
	log     io.Writer
	line    func(string)
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.log.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
}

type logWriter struct{ in *Instance }

func (w logWriter) Write(p []byte) (int, error) {
	w.in.mu.Lock()
	defer w.in.mu.Unlock()
	if w.in.log.Len() < 1<<20 {
		w.in.log.Write(p)
	}
	return len(p), nil
}

func (in *Instance) logWriter() io.Writer { return logWriter{in} }

// Log is what the process wrote (the first MiB).
func (in *Instance) Log() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.log.String()
}

// Pid is the process id.
func (in *Instance) Pid() int { return in.cmd.Process.Pid }

// CPU is the processor time (user and system) the process has used so
// far, from /proc (Linux only; zero elsewhere).
func (in *Instance) CPU() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", in.Pid()))
	if err != nil {
		return 0
	}
	// Fields after the command name in parentheses; utime and stime are
	// fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// Kill ends the process with SIGKILL and waits for it: no graceful
// shutdown, requests in flight are cut.
func (in *Instance) Kill() {
	in.cmd.Process.Kill()
	<-in.done
}

// Stop asks the process to shut down (SIGTERM) and waits; after 10 s it
// is killed.
func (in *Instance) Stop() {
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		in.Kill()
	}
}
