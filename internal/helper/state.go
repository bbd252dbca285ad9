package helper

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
)

// changes is what the helper has changed on the system, written before
// each change is made, so that a start after a crash knows what to undo.
// It holds no secret.
type changes struct {
	// Interface is the TUN device (created or about to be).
	Interface string `json:"interface,omitempty"`
	// IfIndex is its index once created; systemd-resolved keys on it.
	IfIndex int `json:"ifindex,omitempty"`
	// Routes added through the device.
	Routes []netip.Prefix `json:"routes,omitempty"`
	// DNS is the method used ("resolved", "file") once the change is
	// about to be made; ResolvConf is the file edited by "file".
	DNS        string `json:"dns,omitempty"`
	ResolvConf string `json:"resolv_conf,omitempty"`
}

func (c changes) empty() bool {
	return c.Interface == "" && len(c.Routes) == 0 && c.DNS == ""
}

// loadChanges reads the state file; a missing file is no changes.
func loadChanges(path string) (changes, error) {
	var c changes
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

// save writes c atomically and durably (a crash leaves the old or the
// new file, never half of one); empty changes remove the file.
func (c changes) save(path string) error {
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
