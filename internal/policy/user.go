package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
)

// UserFile is the person's own settings in the agent's state directory:
// not secret, one JSON object of setting keys and values.
const UserFile = "settings.json"

// UserStore keeps the person's own settings. It is their one owner: the
// agent changes them only through it. Safe for concurrent use.
type UserStore struct {
	path string
	mu   sync.Mutex
	vals Values
}

// OpenUserStore reads dir/settings.json. Values that no longer pass
// their setting's check (an older version wrote them, or a hand edit)
// are dropped and reported, not fatal: they are the person's
// preferences, and the defaults are safe.
func OpenUserStore(dir string) (*UserStore, []string, error) {
	u := &UserStore{path: filepath.Join(dir, UserFile), vals: Values{}}
	data, err := os.ReadFile(u.path)
	if errors.Is(err, os.ErrNotExist) {
		return u, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the user settings: %w", err)
	}
	raw, err := parseJSON(data)
	if err != nil {
		return u, []string{fmt.Sprintf("%s: %v; starting from no settings of your own", u.path, err)}, nil
	}
	p := decode(raw, u.path)
	for k := range p.Values {
		if s, _ := Lookup(k); !s.User {
			delete(p.Values, k)
			p.Problems = append(p.Problems, fmt.Sprintf("%s: %s is not a setting of the person's; ignored", u.path, k))
		}
	}
	u.vals = p.Values
	return u, p.Problems, nil
}

// Values returns a copy of the person's settings.
func (u *UserStore) Values() Values {
	u.mu.Lock()
	defer u.mu.Unlock()
	c := make(Values, len(u.vals))
	for k, v := range u.vals {
		c[k] = v
	}
	return c
}

// Set stores a checked value for key; nil removes the person's choice,
// so the profile's or the default applies again. The caller has checked
// that the person may change key (Settings.Get(key).User).
func (u *UserStore) Set(key string, v any) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	next := make(Values, len(u.vals)+1)
	for k, old := range u.vals {
		next[k] = old
	}
	if v == nil {
		delete(next, key)
	} else {
		next[key] = v
	}
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the user settings: %w", err)
	}
	if err := atomicfile.WriteFile(u.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving the user settings: %w", err)
	}
	u.vals = next
	return nil
}
