// Package authcode owns the rules of the code from the authenticator app
// (TOTP, RFC 6238): its format, the parameters the portal enrols and
// checks it with, and how far a clock may be off before codes fail. It
// imports nothing of the client or of the organisation's side, so the
// agent, the windows, the command line and the portal server all follow
// the same rules.
package authcode

import (
	"strings"
	"time"
	"unicode"
)

// The TOTP parameters every authenticator app understands.
const (
	// Digits is the length of a code.
	Digits = 6
	// Period is how long the app shows one code.
	Period = 30 * time.Second
	// Algorithm is the HMAC hash, named as in otpauth:// URIs.
	Algorithm = "SHA1"
	// Skew is how many steps either side of the current one the portal
	// accepts, so a code that changed while it was typed still works.
	Skew = 1
)

// MaxClockSkew is how far the computer's clock may be from the portal's:
// the portal accepts Skew steps either side, so an offset up to Skew·Period
// lets every right code through, and beyond it codes fail now and then in
// a way nobody can explain. The wizard blocks and the health checks warn
// beyond it.
const MaxClockSkew = Skew * Period

// Normalise returns s as the portal expects a code: without the spaces
// people type or paste ("123 456"), and with full-width digits (from an
// East Asian input method) as ASCII ones. ok is false, and code empty,
// unless that leaves exactly Digits digits.
func Normalise(s string) (code string, ok bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + r - '０')
		default:
			return "", false
		}
		if b.Len() > Digits {
			return "", false
		}
	}
	if b.Len() != Digits {
		return "", false
	}
	return b.String(), true
}
