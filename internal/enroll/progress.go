package enroll

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
)

// ProgressFile is the name of the wizard's progress file in the state
// directory.
const ProgressFile = "enroll.json"

// progress is what the wizard keeps on disk to resume. It must never hold
// a secret: no activation code, enrollment id, authenticator secret or
// URI, private key or credential (docs/keyring.md).
type progress struct {
	Version     int       `json:"version"`
	Step        Step      `json:"step"`
	User        string    `json:"user,omitempty"`
	DisplayName string    `json:"display_name,omitempty"`
	DeviceID    string    `json:"device_id,omitempty"`
	Updated     time.Time `json:"updated"`
}

const progressVersion = 1

func loadProgress(dir string) (progress, error) {
	b, err := os.ReadFile(filepath.Join(dir, ProgressFile))
	if errors.Is(err, fs.ErrNotExist) {
		return progress{Version: progressVersion, Step: StepWelcome}, nil
	}
	if err != nil {
		return progress{}, fmt.Errorf("reading wizard progress: %w", err)
	}
	var p progress
	if err := json.Unmarshal(b, &p); err != nil {
		return progress{}, fmt.Errorf("parsing wizard progress: %w", err)
	}
	if p.Version != progressVersion || p.Step.index() < 0 {
		return progress{}, fmt.Errorf("wizard progress has version %d, step %q", p.Version, p.Step)
	}
	return p, nil
}

// saveProgress writes p atomically (temp file, fsync, rename) with mode
// 0600, so a crash leaves the old or the new file, never a torn one.
func saveProgress(dir string, p progress) error {
	p.Version = progressVersion
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding wizard progress: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ProgressFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing wizard progress: %w", err)
	}
	return nil
}

func removeProgress(dir string) error {
	err := os.Remove(filepath.Join(dir, ProgressFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing wizard progress: %w", err)
	}
	return nil
}
