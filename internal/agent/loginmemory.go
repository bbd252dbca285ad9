package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
)

// loginMemoryFile, in the state directory, is what this login has done
// today, for the next agent process of the same login: the self-update
// restarts the agent, and "once per agent process" would otherwise ask
// for a code again, or drop the session the person was working in.
// Nothing in it is secret.
const loginMemoryFile = "login.json"

// loginMark is the file's content. It counts only for the day and the
// login it names; another day or login starts afresh.
type loginMark struct {
	Day   string `json:"day"`             // local date, 2006-01-02
	Login string `json:"login,omitempty"` // loginID; "" where none is known
	// Asked: the automatic code prompt was decided in this login (it
	// opened, or was not needed, or not ready in time).
	Asked bool `json:"asked,omitempty"`
	// Resume: a session ran when the agent restarted for an update; the
	// next agent resumes it without a code while the authorisation holds.
	Resume bool `json:"resume,omitempty"`
}

// loginMemory reads and writes the mark. It is safe for concurrent use.
type loginMemory struct {
	path  string
	login string
	now   func() time.Time

	mu sync.Mutex
}

func newLoginMemory(stateDir string, now func() time.Time) *loginMemory {
	return &loginMemory{path: filepath.Join(stateDir, loginMemoryFile), login: loginID(), now: now}
}

func (m *loginMemory) today() string { return m.now().Format(time.DateOnly) }

// load returns this login's mark of today; the zero mark where there is
// none, or only one of another day or login.
func (m *loginMemory) load() (loginMark, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loadLocked()
}

func (m *loginMemory) loadLocked() (loginMark, error) {
	b, err := os.ReadFile(m.path)
	if errors.Is(err, fs.ErrNotExist) {
		return loginMark{}, nil
	}
	if err != nil {
		return loginMark{}, fmt.Errorf("reading %s: %w", m.path, err)
	}
	var mk loginMark
	if err := json.Unmarshal(b, &mk); err != nil {
		return loginMark{}, fmt.Errorf("reading %s: %w", m.path, err)
	}
	if mk.Day != m.today() || mk.Login != m.login {
		return loginMark{}, nil
	}
	return mk, nil
}

// update changes today's mark of this login with f and writes it.
func (m *loginMemory) update(f func(*loginMark)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mk, err := m.loadLocked()
	if err != nil {
		mk = loginMark{} // an unreadable mark is replaced
	}
	f(&mk)
	mk.Day, mk.Login = m.today(), m.login
	b, err := json.Marshal(mk)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(m.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", m.path, err)
	}
	return nil
}

// loginID names this login where the system says: on Linux the boot and
// logind's session (a restarted agent inherits XDG_SESSION_ID; session
// numbers start again after a reboot, so the boot is part of it).
// Elsewhere it is "", and the day alone counts.
func loginID() string {
	sess := os.Getenv("XDG_SESSION_ID")
	if sess == "" {
		return ""
	}
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(boot)) + "/" + sess
}
