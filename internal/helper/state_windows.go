package helper

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
)

// winState is what the Windows helper has changed, written before each
// change, so that a start after a crash knows what to undo. It holds no
// secret. NRPT rules are also found by their tag without it.
type winState struct {
	// Interface is the wintun adapter's name (created or about to be).
	Interface string `json:"interface,omitempty"`
	// LUID is the adapter's once created; routes are keyed on it.
	LUID uint64 `json:"luid,omitempty"`
	// Routes added through the adapter.
	Routes []netip.Prefix `json:"routes,omitempty"`
	// NRPT is set before the office DNS rules are written.
	NRPT bool `json:"nrpt,omitempty"`
}

func (c winState) empty() bool {
	return c.Interface == "" && c.LUID == 0 && len(c.Routes) == 0 && !c.NRPT
}

// loadWinState reads the state file; a missing file is no changes.
func loadWinState(path string) (winState, error) {
	var c winState
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading state file: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("state file %s is damaged: %w", path, err)
	}
	return c, nil
}

// save writes c atomically; empty changes remove the file.
func (c winState) save(path string) error {
	if c.empty() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing state file: %w", err)
		}
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing state file: %w", err)
	}
	return nil
}
