// Package authcodetest computes authenticator codes for tests and
// benchmarks, as an app on the employee's phone would. It is written apart
// from the library the portal checks codes with, from the parameters in
// authcode alone, so every test that signs in checks both against RFC 6238.
package authcodetest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
)

// Generate is the code for the base32 secret at t.
func Generate(secret string, t time.Time) (string, error) {
	if authcode.Algorithm != "SHA1" {
		return "", fmt.Errorf("authcodetest knows only SHA1, not %s", authcode.Algorithm)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.ReplaceAll(secret, " ", "")))
	if err != nil {
		return "", fmt.Errorf("decoding the secret: %w", err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/int64(authcode.Period/time.Second)))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range authcode.Digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", authcode.Digits, n%mod), nil
}

// Code is Generate for tests: it fails tb on a bad secret.
func Code(tb testing.TB, secret string, t time.Time) string {
	tb.Helper()
	c, err := Generate(secret, t)
	if err != nil {
		tb.Fatalf("authenticator code: %v", err)
	}
	return c
}
