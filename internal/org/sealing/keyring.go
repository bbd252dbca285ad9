// Package sealing encrypts the portal's secrets at rest (the users' TOTP
// secrets) with AES-256-GCM under keys kept in a key file outside the
// database, so a copy of the database or its backup reveals no secret.
//
// The key file holds one key per line, "ID BASE64KEY"; the last line
// seals, every line opens. Each sealed value names its key id, so a key
// can be rotated (Add, then re-seal every row) while old rows stay
// readable.
package sealing

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
)

// prefix marks a sealed value; "dws1" is this format's version.
const prefix = "dws1:"

// keyFileMode: only the service's own user may read the keys.
const keyFileMode = 0o600

const header = "# dienstweg-portal secret keys: the last line seals, every line opens.\n" +
	"# Keep this file out of database backups, and back it up on its own.\n"

// ErrUnknownKey reports a sealed value whose key is not in the key file.
var ErrUnknownKey = errors.New("sealed with a key that is not in the key file")

// Keyring seals and opens values with the keys of one key file. It
// reloads the file when it changes on disk, so a running portal follows a
// rotation made by `dienstweg-portal keys rotate`. Safe for concurrent use.
type Keyring struct {
	path string

	mu      sync.Mutex
	keys    map[uint32]cipher.AEAD
	current uint32
	stamp   fileStamp
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

// Open loads the key file at path, creating it with one new key (mode
// 0600, its directory 0700) if it does not exist. It refuses a file that
// others than its owner may read or write.
func Open(path string) (*Keyring, error) {
	k := &Keyring{path: path}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating the directory of the key file: %w", err)
		}
		if err := writeKeys(path, nil, 1); err != nil {
			return nil, err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadLocked(); err != nil {
		return nil, err
	}
	return k, nil
}

// writeKeys writes existing (the file's key lines) plus a new random key
// with id next, atomically with keyFileMode.
func writeKeys(path string, existing []string, next uint32) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("reading randomness: %w", err)
	}
	err := atomicfile.Write(path, keyFileMode, func(w io.Writer) error {
		var b bytes.Buffer
		b.WriteString(header)
		for _, l := range existing {
			b.WriteString(l + "\n")
		}
		fmt.Fprintf(&b, "%d %s\n", next, base64.StdEncoding.EncodeToString(key))
		_, err := w.Write(b.Bytes())
		return err
	})
	if err != nil {
		return fmt.Errorf("writing the key file: %w", err)
	}
	return nil
}

// checkMode refuses a key file that group or others may access. Windows
// has no mode bits (Go reports 0666 for every file); there the folder's
// ACL protects it, and the portal is meant for Linux servers.
func checkMode(path string, fi os.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("key file %s has mode %04o: only its owner may read it (chmod 600 %s)", path, perm, path)
	}
	return nil
}

// loadLocked reads the key file.
func (k *Keyring) loadLocked() error {
	f, err := os.Open(k.path)
	if err != nil {
		return fmt.Errorf("reading the key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading the key file: %w", err)
	}
	if err := checkMode(k.path, fi); err != nil {
		return err
	}
	lines, err := keyLines(f)
	if err != nil {
		return fmt.Errorf("key file %s: %w", k.path, err)
	}
	keys := map[uint32]cipher.AEAD{}
	var current uint32
	for _, l := range lines {
		id, aead, err := parseKeyLine(l)
		if err != nil {
			return fmt.Errorf("key file %s: %w", k.path, err)
		}
		if _, dup := keys[id]; dup {
			return fmt.Errorf("key file %s: key id %d appears twice", k.path, id)
		}
		keys[id], current = aead, id
	}
	if len(keys) == 0 {
		return fmt.Errorf("key file %s holds no key", k.path)
	}
	k.keys, k.current = keys, current
	k.stamp = fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	return nil
}

// keyLines returns the key lines of r, without comments and blank lines.
func keyLines(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

func parseKeyLine(l string) (uint32, cipher.AEAD, error) {
	idText, keyText, ok := strings.Cut(l, " ")
	if !ok {
		return 0, nil, errors.New(`a key line is not "ID BASE64KEY"`)
	}
	id, err := strconv.ParseUint(idText, 10, 32)
	if err != nil || id == 0 {
		return 0, nil, fmt.Errorf("key id %q is not a positive number", idText)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keyText))
	if err != nil || len(key) != 32 {
		return 0, nil, fmt.Errorf("key %d is not 32 bytes in base64", id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return 0, nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return 0, nil, err
	}
	return uint32(id), aead, nil
}

// refreshLocked reloads the key file if it changed since it was read.
func (k *Keyring) refreshLocked() error {
	fi, err := os.Stat(k.path)
	if err != nil {
		return fmt.Errorf("reading the key file: %w", err)
	}
	if (fileStamp{size: fi.Size(), mtime: fi.ModTime()}) == k.stamp {
		return nil
	}
	return k.loadLocked()
}

// Add appends a new key to the key file and makes it the sealing key. The
// old keys stay, so values sealed with them still open; re-seal them
// (store.Reseal) to retire the old keys.
func (k *Keyring) Add() (uint32, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	// Two rotations at once would both write key N+1, and one of the two
	// keys would be lost with every value sealed under it.
	unlock, err := lockFile(k.path + ".lock")
	if err != nil {
		return 0, err
	}
	defer unlock()
	if err := k.loadLocked(); err != nil {
		return 0, err
	}
	f, err := os.Open(k.path)
	if err != nil {
		return 0, fmt.Errorf("reading the key file: %w", err)
	}
	lines, err := keyLines(f)
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("reading the key file: %w", err)
	}
	next := uint32(0)
	for id := range k.keys {
		next = max(next, id)
	}
	next++
	if err := writeKeys(k.path, lines, next); err != nil {
		return 0, err
	}
	if err := k.loadLocked(); err != nil {
		return 0, err
	}
	return next, nil
}

// lockFile takes an exclusive lock by creating path; it is removed when
// released. A lock left by a crashed process must be removed by hand, as
// the error says.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, keyFileMode)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("another process is adding a key (%s exists; remove it if no keys rotate is running)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("locking the key file: %w", err)
	}
	f.Close()
	return func() { os.Remove(path) }, nil
}

// Current is the id of the sealing key.
func (k *Keyring) Current() uint32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.current
}

// Seal encrypts plain, bound to aad (e.g. the user it belongs to, so a
// sealed value copied to another row does not open there), with the
// current key: "dws1:ID:BASE64(nonce|ciphertext)".
func (k *Keyring) Seal(plain, aad []byte) (string, error) {
	k.mu.Lock()
	if err := k.refreshLocked(); err != nil {
		k.mu.Unlock()
		return "", err
	}
	id, aead := k.current, k.keys[k.current]
	k.mu.Unlock()
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	out := aead.Seal(nonce, nonce, plain, aad)
	return prefix + strconv.FormatUint(uint64(id), 10) + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal with the same aad.
func (k *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	id, data, err := split(sealed)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	aead, ok := k.keys[id]
	if !ok {
		// Maybe rotated by another process since we read the file.
		if err := k.refreshLocked(); err != nil {
			k.mu.Unlock()
			return nil, err
		}
		aead, ok = k.keys[id]
	}
	k.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("key %d: %w", id, ErrUnknownKey)
	}
	if len(data) < aead.NonceSize() {
		return nil, errors.New("sealed value is too short")
	}
	plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("opening a sealed value with key %d: %w", id, err)
	}
	return plain, nil
}

// KeyID returns the key id of a value made by Seal; false if v is not one
// (e.g. a clear-text secret written by an older version).
func (k *Keyring) KeyID(v string) (uint32, bool) {
	id, _, err := split(v)
	return id, err == nil
}

func split(sealed string) (uint32, []byte, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return 0, nil, errors.New("value is not sealed")
	}
	idText, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, nil, errors.New("sealed value has no key id")
	}
	id, err := strconv.ParseUint(idText, 10, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("sealed value's key id %q: %w", idText, err)
	}
	data, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return 0, nil, fmt.Errorf("sealed value: %w", err)
	}
	return uint32(id), data, nil
}
