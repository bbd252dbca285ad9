package update

import (
	"encoding/json"
	"errors"
	"fmt"
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

// memory is the update state that must survive restarts: what is being
// installed and what failed. Writes are atomic (temp file and rename) so
// a crash leaves either the old or the new record. It is safe for
// concurrent use within one process; across processes the update steps
// run one after another (old agent, supervisor, new agent).
type memory struct {
	path string
	mu   sync.Mutex
}

func newMemory(dir string) *memory { return &memory{path: filepath.Join(dir, memoryFile)} }

func (m *memory) load() (record, error) {
	var r record
	b, err := os.ReadFile(m.path)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("reading update memory: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		// A damaged file must not stop updates for good; start over.
		return record{}, nil
	}
	return r, nil
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
