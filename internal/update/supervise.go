package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// MaxUnconfirmedStarts is how often a freshly installed version may start
// without confirming before the next start rolls it back. It covers the
// case where the supervising old process died (logout, kill -9) and the
// new version keeps failing on its own.
const MaxUnconfirmedStarts = 3

// StartupResult tells main what Startup decided.
type StartupResult struct {
	// Reexec means the binary at Exe was just restored to the previous
	// version: main must exec it instead of running on.
	Reexec bool
	Exe    string
	// RolledBack is the release that was removed, if Startup did it.
	RolledBack *Failed
}

// Startup runs first thing in the agent role, before the local API. It
// counts starts of a freshly installed version and rolls back one that
// keeps starting without confirming; it clears a pending record that an
// install interrupted before the swap left behind. log nil means
// slog.Default().
func Startup(dir, version string, now func() time.Time, log *slog.Logger) (StartupResult, error) {
	if now == nil {
		now = time.Now
	}
	mem := newMemory(dir, log)
	var res StartupResult
	var rollbackErr error
	_, err := mem.change(func(r *record) {
		p := r.Pending
		if p == nil {
			return
		}
		if p.Version != version {
			// The swap never happened (crash before the rename) or a
			// rollback already restored us: nothing is pending.
			os.Remove(filepath.Join(filepath.Dir(p.Exe), "."+filepath.Base(p.Exe)+".new"))
			r.Pending = nil
			return
		}
		p.Starts++
		if p.Starts <= MaxUnconfirmedStarts {
			return
		}
		if err := Rollback(p.Exe, p.Backup); err != nil {
			rollbackErr = err
			return
		}
		f := &Failed{Version: p.Version, Reason: fmt.Sprintf("started %d times without reporting healthy", p.Starts-1), At: now()}
		r.Failed, r.RolledBack, r.Pending = f, f, nil
		res = StartupResult{Reexec: true, Exe: p.Exe, RolledBack: f}
	})
	if err != nil {
		return StartupResult{}, err
	}
	if rollbackErr != nil {
		return StartupResult{}, &Error{Code: CodeSelfTestFailed, Err: rollbackErr}
	}
	return res, nil
}

// Confirm records that version started and serves the local API. The
// agent calls it once its API listens; the supervisor calls it too.
func Confirm(dir, version string) error {
	_, err := newMemory(dir, nil).change(func(r *record) {
		if r.Pending != nil && r.Pending.Version == version {
			r.Pending = nil
		}
	})
	return err
}

// Probe asks the running agent for its version over the local API.
type Probe func(ctx context.Context) (version string, err error)

// StatusProbe reads GET /v1/status from the agent socket and returns the
// snapshot's "version". It speaks the local API's wire format directly so
// the supervisor needs nothing of the agent but its socket.
func StatusProbe(socket string) Probe {
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}
	return func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/status", nil)
		if err != nil {
			return "", err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status: %s", resp.Status)
		}
		var s struct {
			Version string `json:"version"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
			return "", fmt.Errorf("status: %w", err)
		}
		return s.Version, nil
	}
}

// HandoffOptions configure Handoff.
type HandoffOptions struct {
	// Args are the new process's arguments (without the program name),
	// normally this process's own.
	Args []string
	// Env is the new process's environment; nil means os.Environ().
	Env []string
	// Probe reports the running agent's version.
	Probe Probe
	// Timeout bounds the self-test. Default 60s.
	Timeout time.Duration
	// Poll is the interval between probes. Default 200ms.
	Poll time.Duration
	// Dir holds the update memory.
	Dir            string
	Stdout, Stderr io.Writer
	Now            func() time.Time
	Logger         *slog.Logger
}

// HandoffResult is the outcome of the self-test.
type HandoffResult struct {
	// Healthy: the new version answers; this process should exit.
	Healthy bool
	// RolledBack: it did not; the previous binary is back at inst.Exe
	// and this process should exec it (see Reexec).
	RolledBack bool
	// Reason says why the self-test failed.
	Reason string
	// Pid is the new agent's process id when Healthy.
	Pid int
}

// Handoff is the post-update supervisor step. The old process runs it
// after Install and after it has closed its local API: it starts the new
// binary (in its own session, so it outlives us) and waits until the new
// agent reports inst.Version over the local API. If the new process exits
// first or the time runs out, it kills it, restores the previous binary
// and records the release as failed.
func Handoff(ctx context.Context, inst *Installed, opt HandoffOptions) (HandoffResult, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = 60 * time.Second
	}
	if opt.Poll <= 0 {
		opt.Poll = 200 * time.Millisecond
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	log := opt.Logger.With("version", inst.Version, "from", inst.FromVersion)
	cmd := exec.Command(inst.Exe, opt.Args...)
	cmd.Env = opt.Env
	cmd.Stdout, cmd.Stderr = opt.Stdout, opt.Stderr
	cmd.SysProcAttr = detachedAttr()
	// exited is closed once the child is reaped; waitErr is set before.
	exited := make(chan struct{})
	var waitErr error
	reason := ""
	started := false
	if err := cmd.Start(); err != nil {
		reason = fmt.Sprintf("starting %s: %v", inst.Exe, err)
	} else {
		started = true
		go func() { waitErr = cmd.Wait(); close(exited) }()
		reason = waitHealthy(ctx, inst.Version, opt, exited, &waitErr)
	}
	if reason == "" {
		log.Info("update self-test passed", "pid", cmd.Process.Pid)
		if err := Confirm(opt.Dir, inst.Version); err != nil {
			log.Warn("confirming update", "err", err)
		}
		return HandoffResult{Healthy: true, Pid: cmd.Process.Pid}, nil
	}
	log.Error("update self-test failed; restoring the previous version", "reason", reason)
	if started {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := Rollback(inst.Exe, inst.Backup); err != nil {
		return HandoffResult{Reason: reason}, &Error{Code: CodeSelfTestFailed, Err: fmt.Errorf("%s; %w", reason, err)}
	}
	f := &Failed{Version: inst.Version, Reason: reason, At: opt.Now()}
	if _, err := newMemory(opt.Dir, opt.Logger).change(func(r *record) {
		r.Failed, r.RolledBack, r.Pending = f, f, nil
	}); err != nil {
		log.Warn("recording failed release", "err", err)
	}
	return HandoffResult{RolledBack: true, Reason: reason}, nil
}

// waitHealthy returns "" once the probe reports version, or why not.
func waitHealthy(ctx context.Context, version string, opt HandoffOptions, exited <-chan struct{}, waitErr *error) string {
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	tick := time.NewTicker(opt.Poll)
	defer tick.Stop()
	last := ""
	for {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		got, err := opt.Probe(pctx)
		pcancel()
		switch {
		case err == nil && got == version:
			return ""
		case err == nil:
			last = fmt.Sprintf("the agent reports version %q", got)
		default:
			last = err.Error()
		}
		select {
		case <-exited:
			err := *waitErr
			if err == nil {
				return "the new version exited at start"
			}
			return fmt.Sprintf("the new version exited at start: %v", err)
		case <-ctx.Done():
			return fmt.Sprintf("the new version did not report healthy within %s (last: %s)", opt.Timeout, last)
		case <-tick.C:
		}
	}
}

// ErrNoRollbackNote means there is no rollback to report.
var ErrNoRollbackNote = errors.New("no rollback to report")

// takeRollbackNote returns and clears the record of the last rollback so
// the restored version tells the employee once.
func (m *memory) takeRollbackNote() (*Failed, error) {
	var f *Failed
	_, err := m.change(func(r *record) {
		f, r.RolledBack = r.RolledBack, nil
	})
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, ErrNoRollbackNote
	}
	return f, nil
}
