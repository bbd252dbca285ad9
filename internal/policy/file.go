package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// FilePath is where IT places the policy on Linux (and other Unix
// systems): a JSON object of setting keys and values, owned by root and
// writable by nobody else (docs/policy.md).
const FilePath = "/etc/dienstweg/policy.json"

// maxFileSize bounds what we read; a real policy is a few hundred bytes.
const maxFileSize = 64 << 10

// LoadFile reads the policy at path. A missing file is no policy. A file
// that anyone but root could have written is ignored as a whole, with a
// problem saying why: its values prove nothing about what IT wants, and
// applying them would let whoever wrote them lock the person's settings
// or unlock what IT locked elsewhere. It is not a reason to stop
// Dienstweg either, which anyone able to write the file could then do.
func LoadFile(path string) Policy { return loadFile(path, 0) }

// loadFile is LoadFile with the uid trusted besides root (tests).
func loadFile(path string, trusted int) Policy {
	data, err := readTrusted(path, trusted)
	if errors.Is(err, os.ErrNotExist) {
		return Policy{}
	}
	if err != nil {
		return Policy{Origin: path, Problems: []string{fmt.Sprintf("%s: %v; the whole policy is ignored", path, err)}}
	}
	raw, err := parseJSON(data)
	if err != nil {
		return Policy{Origin: path, Problems: []string{fmt.Sprintf("%s: %v; the whole policy is ignored", path, err)}}
	}
	return decode(raw, path)
}

// parseJSON reads one JSON object; numbers stay float64 for Check.
func parseJSON(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if raw == nil {
		return nil, errors.New("not a JSON object: null")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not a JSON object: data after it")
	}
	return raw, nil
}
