// Package redact removes secrets from text before it leaves the device: in
// the diagnostics bundle and anywhere else a log or setting is shown. The
// client never logs secrets in the first place; this is the second line.
package redact

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"sync"
)

// Mask replaces what was removed.
const Mask = "[REDACTED]"

// patterns match secrets by what they are, whoever wrote them: a shape
// that only a key or credential has, or a field whose name says it holds
// one. A field merely called "code" is no secret: health links, error
// and step codes are what the helpdesk reads. The codes a person types
// are secrets, and the agent registers each one (Register) as it arrives.
var patterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// otpauth:// URIs carry the authenticator secret.
	{regexp.MustCompile(`otpauth://[^\s"'<>]+`), "otpauth://" + Mask},
	// PEM private keys.
	{regexp.MustCompile(`(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----`), Mask},
	// Authorization headers and bearer tokens.
	{regexp.MustCompile(`(?i)(authorization\s*[:=]\s*"?)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`), "${1}${2} " + Mask},
	{regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}`), "Bearer " + Mask},
	// key=value and "key": "value" pairs whose key names a secret.
	{regexp.MustCompile(`(?i)((?:private_?key|secret|password|passwd|token|credential|activation_?code|psk|preshared_?key|cookie)"?\s*[:=]\s*"?)([^\s",}&]+)`), "${1}" + Mask},
	// WireGuard keys: 32 bytes in base64 (44 chars ending in '=').
	{regexp.MustCompile(`\b[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=`), Mask},
	// Activation codes as IT's letter prints them (XXXX-XXXX-XXXX, the
	// portal's alphabet without look-alikes), wherever they are quoted.
	{regexp.MustCompile(`\b[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}\b`), Mask},
	// Base32 TOTP secrets of 16 to 64 characters (as in otpauth secret=).
	{regexp.MustCompile(`\b[A-Z2-7]{16,64}\b`), Mask},
	// Long hex strings: hashes of secrets, raw keys.
	{regexp.MustCompile(`\b[0-9a-fA-F]{32,}\b`), Mask},
}

// String removes every secret pattern and every registered secret from s.
func String(s string) string {
	for _, p := range patterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return known.replace(s)
}

// Bytes is String for byte slices.
func Bytes(b []byte) []byte { return []byte(String(string(b))) }

// knownSecrets holds secrets the process has seen (keys read from the
// keyring, the device credential), so they are removed in every encoding
// even where no pattern would recognise them.
type knownSecrets struct {
	mu       sync.RWMutex
	replacer *strings.Replacer
	values   []string
	seen     map[string]bool
}

var known = &knownSecrets{}

// Register adds secret to the set removed by String, in its raw, base64,
// base32 and hex forms. Call it where a secret enters the process: read
// from the keyring, received from the portal, typed by the person (the
// activation code, a 6-digit code). Values shorter than 6 bytes are
// ignored: they would mask ordinary words.
func Register(secret string) {
	secret = strings.TrimSpace(secret)
	if len(secret) < 6 {
		return
	}
	known.mu.Lock()
	defer known.mu.Unlock()
	if known.seen[secret] {
		return // a code typed twice, a key read at every start
	}
	if known.seen == nil {
		known.seen = map[string]bool{}
	}
	known.seen[secret] = true
	for _, v := range Encodings([]byte(secret)) {
		known.values = append(known.values, v, Mask)
	}
	known.replacer = strings.NewReplacer(known.values...)
}

// Encodings lists the forms in which a secret could appear in text.
func Encodings(secret []byte) []string {
	return []string{
		string(secret),
		base64.StdEncoding.EncodeToString(secret),
		base64.RawStdEncoding.EncodeToString(secret),
		base64.URLEncoding.EncodeToString(secret),
		base64.RawURLEncoding.EncodeToString(secret),
		base32.StdEncoding.EncodeToString(secret),
		base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret),
		hex.EncodeToString(secret),
		strings.ToUpper(hex.EncodeToString(secret)),
	}
}

func (k *knownSecrets) replace(s string) string {
	k.mu.RLock()
	r := k.replacer
	k.mu.RUnlock()
	if r == nil {
		return s
	}
	return r.Replace(s)
}
