package enroll

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// ProgressFile is the name of the wizard's progress file in the state
// directory. It says where the wizard was, nothing more: whether this
// computer is set up is decided by the keyring (docs/keyring.md), so a
// lost or damaged file costs at most a few clicks of an unfinished setup.
const ProgressFile = "enroll.json"

// damagedSuffix names the copy of a damaged progress file that is kept
// for the helpdesk before the wizard writes a fresh one.
const damagedSuffix = ".damaged"

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

// Bounds of what the progress file may hold: what the wizard accepts as
// input (SubmitSignIn) and what the portal hands out, with room to spare.
const (
	maxProgressBytes = 16 << 10
	maxUserLen       = 128
	maxNameLen       = 512
	maxDeviceIDLen   = 128
)

// writeFileFunc writes a file atomically; atomicfile.WriteFile, or a fake
// in tests.
type writeFileFunc func(path string, data []byte, perm os.FileMode) error

// loadProgress reads the progress file. A missing file gives an error
// matching fs.ErrNotExist; anything else that is not a valid progress
// file gives an error that says what is wrong with it.
func loadProgress(dir string) (progress, error) {
	f, err := os.Open(filepath.Join(dir, ProgressFile))
	if err != nil {
		return progress{}, fmt.Errorf("reading wizard progress: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxProgressBytes+1))
	if err != nil {
		return progress{}, fmt.Errorf("reading wizard progress: %w", err)
	}
	if len(b) > maxProgressBytes {
		return progress{}, fmt.Errorf("wizard progress is larger than %d bytes", maxProgressBytes)
	}
	return parseProgress(b)
}

// parseProgress decodes and checks a progress file: one JSON object of
// the current version, a known step, and names no longer than the wizard
// would ever have written.
func parseProgress(b []byte) (progress, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var p progress
	if err := dec.Decode(&p); err != nil {
		return progress{}, fmt.Errorf("parsing wizard progress: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return progress{}, errors.New("parsing wizard progress: data after the JSON object")
	}
	switch {
	case p.Version != progressVersion || p.Step.index() < 0:
		return progress{}, fmt.Errorf("wizard progress has version %d, step %q", p.Version, p.Step)
	case len(p.User) > maxUserLen, len(p.DisplayName) > maxNameLen, len(p.DeviceID) > maxDeviceIDLen:
		return progress{}, errors.New("wizard progress holds overlong names")
	case !utf8.ValidString(p.User + p.DisplayName + p.DeviceID):
		return progress{}, errors.New("wizard progress holds invalid text")
	}
	return p, nil
}

// saveProgress writes p atomically (temp file, fsync, rename) with mode
// 0600, so a crash leaves the old or the new file, never a torn one.
func saveProgress(dir string, p progress, write writeFileFunc) error {
	p.Version = progressVersion
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding wizard progress: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	if write == nil {
		write = atomicfile.WriteFile
	}
	if err := write(filepath.Join(dir, ProgressFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing wizard progress: %w", err)
	}
	return nil
}

// keepDamaged moves a damaged progress file aside, for the helpdesk, so
// the next save starts afresh.
func keepDamaged(dir string) error {
	path := filepath.Join(dir, ProgressFile)
	if err := os.Rename(path, path+damagedSuffix); err != nil {
		return fmt.Errorf("keeping the damaged wizard progress: %w", err)
	}
	return nil
}

func removeProgress(dir string) error {
	err := os.Remove(filepath.Join(dir, ProgressFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing wizard progress: %w", err)
	}
	return nil
}

// storageMessage explains to the employee why the progress could not be
// written: a full disk, a directory that cannot be written, or else.
//
//	enroll.warning.disk_full   enroll.warning.read_only   enroll.warning.not_saved
func storageMessage(err error, dir string) *state.Message {
	key := "enroll.warning.not_saved"
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		key = "enroll.warning.disk_full"
	case errors.Is(err, syscall.EROFS), errors.Is(err, os.ErrPermission):
		key = "enroll.warning.read_only"
	}
	return msg(key, "Dir", dir)
}
