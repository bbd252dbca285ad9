package agent

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/i18n"
)

// UIName is the file name of the program that shows windows.
const UIName = "dienstweg-ui"

// UIExecutable is dienstweg-ui beside this executable: the packages
// install both into one directory, and `make build` builds both into bin/.
func UIExecutable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding own executable: %w", err)
	}
	name := UIName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(filepath.Dir(exe), name), nil
}

// launcher starts `dienstweg-ui <window>` processes and remembers the ones
// still running, so that two quick clicks start one window, not two.
type launcher struct {
	exe, socket, lang string
	out               io.Writer
	log               *slog.Logger

	mu      sync.Mutex
	running map[string]*exec.Cmd
	wg      sync.WaitGroup
}

func newLauncher(exe, socket, lang string, out io.Writer, log *slog.Logger) *launcher {
	if out == nil {
		out = io.Discard
	}
	return &launcher{exe: exe, socket: socket, lang: lang, out: out, log: log, running: map[string]*exec.Cmd{}}
}

func (l *launcher) launch(window string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.running[window]; ok {
		return nil // starting up; it claims the window when ready
	}
	// Said plainly: exec's own error for a missing file names neither the
	// program's role nor the remedy.
	if _, err := os.Stat(l.exe); err != nil {
		l.log.Error("cannot show windows: the window program is missing", "exe", l.exe, "err", err)
		return fmt.Errorf("cannot show the %s window: the window program %s is missing (reinstall Dienstweg, or build it with make build): %w", window, l.exe, err)
	}
	cmd := exec.Command(l.exe, window, "--socket", l.socket, "--lang", l.lang)
	cmd.Stdout = l.out
	cmd.Stderr = l.out
	cmd.Env = i18n.WindowEnv(os.Environ(), l.lang)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s window: %w", window, err)
	}
	l.log.Info("window started", "window", window, "pid", cmd.Process.Pid)
	l.running[window] = cmd
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		err := cmd.Wait()
		l.mu.Lock()
		delete(l.running, window)
		l.mu.Unlock()
		if err != nil {
			l.log.Warn("window ended with an error", "window", window, "err", err)
		} else {
			l.log.Info("window closed", "window", window)
		}
	}()
	return nil
}

// wait gives windows time to close after the agent told them to, then
// ends the rest.
func (l *launcher) wait(grace time.Duration) {
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	l.mu.Lock()
	for _, cmd := range l.running {
		_ = cmd.Process.Kill()
	}
	l.mu.Unlock()
	<-done
}
