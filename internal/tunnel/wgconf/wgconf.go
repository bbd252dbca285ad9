// Package wgconf holds the small pieces both ends of the tunnel share:
// WireGuard keys in the base64 form the portal and the keyring use, and
// reading the UAPI text that wireguard-go's IpcGet returns.
package wgconf

import (
	"bufio"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// KeyLen is the length of a WireGuard key in bytes.
const KeyLen = 32

// HexKey turns a base64 WireGuard key into the hex form of the UAPI.
func HexKey(b64 string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return "", fmt.Errorf("key is not base64: %w", err)
	}
	if len(b) != KeyLen {
		return "", fmt.Errorf("key has %d bytes, want %d", len(b), KeyLen)
	}
	return hex.EncodeToString(b), nil
}

// Base64Key turns a hex UAPI key into base64.
func Base64Key(hx string) (string, error) {
	b, err := hex.DecodeString(hx)
	if err != nil || len(b) != KeyLen {
		return "", errors.New("key is not 32 hex-encoded bytes")
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// NewPrivateKey returns a fresh base64 private key.
func NewPrivateKey() (string, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("making key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k.Bytes()), nil
}

// PublicKey returns the base64 public key of a base64 private key.
func PublicKey(private string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(private))
	if err != nil {
		return "", fmt.Errorf("private key is not base64: %w", err)
	}
	k, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		return "", fmt.Errorf("private key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k.PublicKey().Bytes()), nil
}

// Peer is what the UAPI reports about one peer.
type Peer struct {
	// PublicKey is base64.
	PublicKey     string
	Endpoint      netip.AddrPort
	AllowedIPs    []netip.Prefix
	LastHandshake time.Time
	RxBytes       uint64
	TxBytes       uint64
}

// Device is what the UAPI reports about a device.
type Device struct {
	ListenPort int
	Peers      []Peer
}

// ParseUAPI reads the answer of IpcGet (or `wg showconf`-like UAPI get
// output). Unknown keys are skipped, so newer wireguard-go versions
// parse; a known key with a value wireguard-go would not write (a port
// beyond 65535, a handshake before 1970) is an error, not a number
// silently taken as zero or as something else.
func ParseUAPI(s string) (Device, error) {
	var d Device
	var cur *Peer
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return d, fmt.Errorf("uapi line %q has no '='", line)
		}
		switch k {
		case "listen_port":
			p, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return d, fmt.Errorf("listen_port %q: %w", v, err)
			}
			d.ListenPort = int(p)
		case "public_key":
			pk, err := Base64Key(v)
			if err != nil {
				return d, fmt.Errorf("peer public_key: %w", err)
			}
			d.Peers = append(d.Peers, Peer{PublicKey: pk})
			cur = &d.Peers[len(d.Peers)-1]
		case "errno":
			if v != "0" {
				return d, fmt.Errorf("uapi errno %s", v)
			}
		}
		if cur == nil {
			continue
		}
		if err := cur.set(k, v); err != nil {
			return d, fmt.Errorf("peer %s: %w", k, err)
		}
	}
	return d, sc.Err()
}

// set reads one peer key; unknown keys are left alone.
func (p *Peer) set(k, v string) error {
	switch k {
	case "endpoint":
		ap, err := netip.ParseAddrPort(v)
		if err != nil {
			return err
		}
		p.Endpoint = ap
	case "allowed_ip":
		a, err := netip.ParsePrefix(v)
		if err != nil {
			return err
		}
		p.AllowedIPs = append(p.AllowedIPs, a)
	case "last_handshake_time_sec":
		// 0 means none; wireguard-go writes seconds since 1970.
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a time", v)
		}
		p.LastHandshake = time.Time{}
		if n != 0 {
			p.LastHandshake = time.Unix(n, 0)
		}
	case "last_handshake_time_nsec":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n >= int64(time.Second) {
			return fmt.Errorf("%q is not a fraction of a second", v)
		}
		if !p.LastHandshake.IsZero() {
			p.LastHandshake = time.Unix(p.LastHandshake.Unix(), n)
		}
	case "rx_bytes", "tx_bytes":
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return err
		}
		if k == "rx_bytes" {
			p.RxBytes = n
		} else {
			p.TxBytes = n
		}
	}
	return nil
}
