package enroll

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/curve25519"
)

// newKeyPair makes a WireGuard key pair the way `wg genkey | wg pubkey`
// does: 32 random bytes clamped for X25519, base64 encoded.
func newKeyPair(rand io.Reader) (priv, pub string, err error) {
	var k [32]byte
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return "", "", fmt.Errorf("reading randomness: %w", err)
	}
	clamp(&k)
	priv = base64.StdEncoding.EncodeToString(k[:])
	pub, err = publicKey(priv)
	return priv, pub, err
}

// clamp applies the X25519 clamping (RFC 7748 §5), as wg genkey does.
func clamp(k *[32]byte) {
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
}

// publicKey derives the base64 public key from a base64 private key.
func publicKey(priv string) (string, error) {
	k, err := base64.StdEncoding.DecodeString(priv)
	if err != nil || len(k) != 32 {
		return "", errors.New("private key is not a base64 32-byte key")
	}
	p, err := curve25519.X25519(k, curve25519.Basepoint)
	if err != nil {
		return "", fmt.Errorf("deriving public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(p), nil
}
