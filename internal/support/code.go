// Package support produces what the helpdesk asks for: a support code that
// is easy to read aloud and stable per device, and the text summary of the
// "Hilfe & Support" window.
package support

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
)

// alphabet has no 0/O, 1/I/L and no U (read-aloud confusions); 30 symbols.
const alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// codeLen symbols give 30^6 ≈ 729 million codes: collisions in one
// organisation are rare, and the helpdesk confirms by name anyway.
const codeLen = 6

// Code derives the support code from a device id, e.g. "DW-7K3F-Q9". The
// id itself never leaves the device; the code is a keyed hash of it.
func Code(deviceID []byte) string {
	mac := hmac.New(sha256.New, []byte("dienstweg support code v1"))
	mac.Write(deviceID)
	n := new(big.Int).SetBytes(mac.Sum(nil))
	base := big.NewInt(int64(len(alphabet)))
	var b strings.Builder
	mod := new(big.Int)
	for i := 0; i < codeLen; i++ {
		n.DivMod(n, base, mod)
		b.WriteByte(alphabet[mod.Int64()])
	}
	s := b.String()
	return "DW-" + s[:4] + "-" + s[4:]
}

// machineIDPaths are where Linux keeps a stable machine id.
var machineIDPaths = []string{"/etc/machine-id", "/var/lib/dbus/machine-id"}

// DeviceID returns a stable id for this device: the system's machine id
// where there is one, otherwise a random id kept in stateDir.
func DeviceID(stateDir string) ([]byte, error) {
	for _, p := range machineIDPaths {
		if b, err := os.ReadFile(p); err == nil {
			if id := strings.TrimSpace(string(b)); id != "" {
				return []byte(id), nil
			}
		}
	}
	path := filepath.Join(stateDir, "device-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return []byte(strings.TrimSpace(string(b))), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading device id: %w", err)
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("making device id: %w", err)
	}
	id := hex.EncodeToString(raw)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("storing device id: %w", err)
	}
	if err := atomicfile.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("storing device id: %w", err)
	}
	return []byte(id), nil
}

// NormaliseCode turns a support code as typed or dictated ("dw 7k3f q9",
// "7K3FQ9") into its written form, "DW-7K3F-Q9"; ok is false if it is
// not one.
func NormaliseCode(s string) (code string, ok bool) {
	s = strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s))
	s = strings.TrimPrefix(s, "DW")
	if len(s) != codeLen || strings.Trim(s, alphabet) != "" {
		return "", false
	}
	return "DW-" + s[:4] + "-" + s[4:], true
}

// renewedCodeFile keeps the code RenewCode gave this device, in its
// state directory.
const renewedCodeFile = "support-code"

// DeviceCode returns this device's support code: the one RenewCode gave
// it, if any, otherwise Code of its DeviceID.
func DeviceCode(stateDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, renewedCodeFile))
	switch {
	case err == nil:
		if code, ok := NormaliseCode(strings.TrimSpace(string(b))); ok {
			return code, nil
		}
		// A damaged file: the device's own code is still a good one.
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("reading support code: %w", err)
	}
	id, err := DeviceID(stateDir)
	if err != nil {
		return "", err
	}
	return Code(id), nil
}

// RenewCode gives this device a new, random support code and keeps it in
// stateDir, for DeviceCode. The portal asks for it when another device
// already sent reports with this device's code: a copied machine id, a
// rare collision of two hashes, or a device that sent someone else's
// code on purpose. The code for update rollouts (DeviceID) stays.
func RenewCode(stateDir string) (string, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("making a support code: %w", err)
	}
	code := Code(raw)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", fmt.Errorf("storing support code: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(stateDir, renewedCodeFile), []byte(code+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("storing support code: %w", err)
	}
	return code, nil
}
