// Package logging sets up log/slog to a size-limited, rotating file in the
// user's state directory. Nothing secret may be logged: codes, keys and
// tokens never reach a log call in this code base, and the diagnostics
// bundle redacts again on the way out.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Defaults for the agent's log: four files of at most 1 MiB each.
const (
	DefaultMaxSize  = 1 << 20
	DefaultBackups  = 3
	defaultFileMode = 0o600
)

// RotatingFile is an io.Writer that appends to path and, when the file
// would grow beyond maxSize, renames it to path.1 (shifting older ones up
// to path.N) and starts a new one. It is safe for concurrent use.
type RotatingFile struct {
	path    string
	maxSize int64
	backups int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// OpenRotating opens (creating) the log file at path.
func OpenRotating(path string, maxSize int64, backups int) (*RotatingFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	r := &RotatingFile{path: path, maxSize: maxSize, backups: backups}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, defaultFileMode)
	if err != nil {
		return fmt.Errorf("opening log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening log file: %w", err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Write appends p, rotating first if p would not fit.
func (r *RotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *RotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("closing log for rotation: %w", err)
	}
	for i := r.backups; i > 0; i-- {
		src := r.path
		if i > 1 {
			src = fmt.Sprintf("%s.%d", r.path, i-1)
		}
		dst := fmt.Sprintf("%s.%d", r.path, i)
		if err := os.Rename(src, dst); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("rotating log: %w", err)
		}
	}
	if r.backups == 0 {
		if err := os.Remove(r.path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("rotating log: %w", err)
		}
	}
	return r.open()
}

// Path is the current log file.
func (r *RotatingFile) Path() string { return r.path }

// Close closes the file.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// Files lists the current log file and its backups that exist, newest
// first, for the diagnostics bundle.
func Files(path string, backups int) []string {
	var out []string
	for i := 0; i <= backups; i++ {
		p := path
		if i > 0 {
			p = fmt.Sprintf("%s.%d", path, i)
		}
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ParseLevel accepts debug, info, warn and error.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// New returns a text logger writing to w at level.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// StateDir is the per-user state directory: $XDG_STATE_HOME/dienstweg,
// falling back to ~/.local/state/dienstweg (and the user config dir on
// platforms without XDG).
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "dienstweg"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		base, cerr := os.UserConfigDir()
		if cerr != nil {
			return "", fmt.Errorf("finding state directory: %w", err)
		}
		return filepath.Join(base, "Dienstweg", "state"), nil
	}
	return filepath.Join(home, ".local", "state", "dienstweg"), nil
}
