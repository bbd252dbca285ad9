package update

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// memoryFile lives in the agent's state directory.
const memoryFile = "update-state.json"

// Pending is an installed update that has not yet proved it starts.
type Pending struct {
	Version     string    `json:"version"`
	FromVersion string    `json:"from_version"`
	Exe         string    `json:"exe"`
	Backup      string    `json:"backup"`
	InstalledAt time.Time `json:"installed_at"`
	// Starts counts starts of Version that did not confirm yet.
	Starts int `json:"starts"`
}

// Failed is a release that failed its self-test. It is not offered
// again until a newer version appears.
type Failed struct {
	Version string    `json:"version"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

type record struct {
	Pending *Pending `json:"pending,omitempty"`
	Failed  *Failed  `json:"failed,omitempty"`
	// RolledBack is set by a rollback and cleared once the restored
	// version has told the employee.
	RolledBack *Failed `json:"rolled_back,omitempty"`
}

// maxMemorySize bounds what is read of the memory file; a real one has a
// few hundred bytes.
const maxMemorySize = 64 << 10

// memory is the update state that must survive restarts: what is being
// installed and what failed. Writes are atomic (temp file and rename) so
// a crash leaves either the old or the new record. It is safe for
// concurrent use within one process; across processes the update steps
// run one after another (old agent, supervisor, new agent).
type memory struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
}

// newMemory opens the memory in dir; log nil means slog.Default().
func newMemory(dir string, log *slog.Logger) *memory {
	if log == nil {
		log = slog.Default()
	}
	return &memory{path: filepath.Join(dir, memoryFile), log: log}
}

// load reads the record. A damaged file must neither stop updates for
// good nor take more than itself down: unreadable JSON is moved aside
// (for support) and the memory starts empty; a part that makes no sense
// is dropped and the rest kept. Either way it says so in the log.
func (m *memory) load() (record, error) {
	f, err := os.Open(m.path)
	if errors.Is(err, os.ErrNotExist) {
		return record{}, nil
	}
	if err != nil {
		return record{}, fmt.Errorf("reading update memory: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxMemorySize+1))
	f.Close()
	if err != nil {
		return record{}, fmt.Errorf("reading update memory: %w", err)
	}
	r, problems, whole := parseRecord(b)
	if len(problems) == 0 {
		return r, nil
	}
	if whole {
		aside := m.path + ".corrupt"
		if err := os.Rename(m.path, aside); err != nil {
			aside = ""
			m.log.Warn("moving the damaged update memory aside", "path", m.path, "err", err)
		}
		m.log.Warn("update memory damaged; starting without it (an update waiting for its self-test or a failed release is forgotten)",
			"path", m.path, "moved_to", aside, "problem", problems[0])
		return record{}, nil
	}
	m.log.Warn("update memory partly damaged; ignoring the damaged parts", "path", m.path, "problems", problems)
	return r, nil
}

// parseRecord decodes the memory file. whole is true when nothing of it
// is usable; otherwise parts that make no sense are dropped, each with a
// reason in problems.
func parseRecord(b []byte) (r record, problems []string, whole bool) {
	if len(b) > maxMemorySize {
		return record{}, []string{fmt.Sprintf("file larger than %d bytes", maxMemorySize)}, true
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return record{}, []string{fmt.Sprintf("not valid JSON: %v", err)}, true
	}
	if p := r.Pending; p != nil {
		// Startup renames Backup over Exe: only ever the pair Install
		// wrote, never two paths a damaged file names.
		var why string
		switch {
		case !validVersion(p.Version) || !validVersion(p.FromVersion):
			why = "bad version"
		case !filepath.IsAbs(p.Exe) || filepath.Clean(p.Exe) != p.Exe:
			why = fmt.Sprintf("binary path %q is not absolute and clean", p.Exe)
		case p.Backup != BackupPath(p.Exe):
			why = fmt.Sprintf("backup %q is not the one beside %q", p.Backup, p.Exe)
		case p.Starts < 0:
			why = fmt.Sprintf("negative start count %d", p.Starts)
		}
		if why != "" {
			problems = append(problems, "pending install: "+why)
			r.Pending = nil
		}
	}
	if r.Failed != nil && !validVersion(r.Failed.Version) {
		problems = append(problems, fmt.Sprintf("failed release: bad version %q", r.Failed.Version))
		r.Failed = nil
	}
	if r.RolledBack != nil && !validVersion(r.RolledBack.Version) {
		problems = append(problems, fmt.Sprintf("rollback note: bad version %q", r.RolledBack.Version))
		r.RolledBack = nil
	}
	return r, problems, false
}

func validVersion(s string) bool {
	_, err := ParseVersion(s)
	return err == nil
}

func (m *memory) change(f func(*record)) (record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.load()
	if err != nil {
		return r, err
	}
	f(&r)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return r, err
	}
	if err := os.MkdirAll(filepath.Dir(m.path), 0o700); err != nil {
		return r, fmt.Errorf("writing update memory: %w", err)
	}
	if err := writeFileSync(m.path, b, 0o600); err != nil {
		return r, fmt.Errorf("writing update memory: %w", err)
	}
	return r, nil
}

func (m *memory) get() (record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.load()
}

// writeFileSync writes path atomically and durably.
func writeFileSync(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}
