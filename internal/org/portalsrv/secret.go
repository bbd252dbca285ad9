package portalsrv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// Activation codes are printed in a letter and typed by people, so the
// alphabet leaves out look-alikes (0/O, 1/I/L). 12 of 31 symbols give
// about 59 bits, far beyond what 5 tries per 5 minutes can guess.
const (
	codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	codeLen      = 12
)

// DefaultActivationTTL is how long a printed activation code stays valid.
const DefaultActivationTTL = 14 * 24 * time.Hour

// NewActivationCode returns a random code formatted as XXXX-XXXX-XXXX.
func NewActivationCode() (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for n := 0; n < codeLen; {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("reading randomness: %w", err)
		}
		// Rejection sampling keeps every symbol equally likely.
		if int(buf[0]) >= 256/len(codeAlphabet)*len(codeAlphabet) {
			continue
		}
		if n > 0 && n%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(codeAlphabet[int(buf[0])%len(codeAlphabet)])
		n++
	}
	return b.String(), nil
}

// normaliseCode accepts what people type: lower case, spaces, dashes.
func normaliseCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r == '-' || r == ' ' || r == '\t' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NormaliseUser maps a typed user name to the stored form.
func NormaliseUser(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// MaxUserName is the longest user name (in bytes) the enrollment API
// accepts.
const MaxUserName = 128

// The reasons ValidateUserName gives, for callers that explain them in
// their own words (errors.Is).
var (
	ErrUserNameEmpty     = errors.New("the user name is empty")
	ErrUserNameTooLong   = errors.New("the user name is too long to be typed at enrollment")
	ErrUserNameUntypable = errors.New("the user name contains characters nobody can type")
)

// ValidateUserName says why a normalised name could never enroll, so IT
// is told when adding the user, not the employee on the first day.
func ValidateUserName(name string) error {
	switch {
	case name == "":
		return ErrUserNameEmpty
	case len(name) > MaxUserName:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrUserNameTooLong, len(name), MaxUserName)
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %q", ErrUserNameUntypable, name)
	}
	return nil
}

// hashParams are argon2id parameters (RFC 9106 / OWASP minimum: 19 MiB,
// 2 passes). They are stored in each hash, so raising them later keeps old
// hashes verifiable.
type hashParams struct {
	time, memoryKiB uint32
	threads         uint8
}

var defaultHashParams = hashParams{time: 2, memoryKiB: 19 * 1024, threads: 1}

// hashSem bounds concurrent argon2 runs: each takes memoryKiB, and a crowd
// of first-day enrollments must not exhaust the server's memory.
var hashSem = make(chan struct{}, max(1, runtime.NumCPU()))

func hashCode(code string, p hashParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	hashSem <- struct{}{}
	sum := argon2.IDKey([]byte(normaliseCode(code)), salt, p.time, p.memoryKiB, p.threads, 32)
	<-hashSem
	return formatHash(p, salt, sum), nil
}

// hashEncoding is strict so that every hash has exactly one spelling.
var hashEncoding = base64.RawStdEncoding.Strict()

// formatHash is the PHC string format of argon2id hashes.
func formatHash(p hashParams, salt, sum []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memoryKiB, p.time, p.threads,
		hashEncoding.EncodeToString(salt), hashEncoding.EncodeToString(sum))
}

var errBadHash = errors.New("malformed argon2id hash")

// parseHash reads a hash from the database exactly as formatHash writes
// it. The row may have been tampered with, so it accepts nothing else and
// refuses parameters that would let one verification take the server's
// memory or time.
func parseHash(encoded string) (p hashParams, salt, sum []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return p, nil, nil, errBadHash
	}
	m, okM := hashField(fields[0], "m=", 32)
	t, okT := hashField(fields[1], "t=", 32)
	th, okP := hashField(fields[2], "p=", 8)
	if !okM || !okT || !okP {
		return p, nil, nil, errBadHash
	}
	p = hashParams{time: uint32(t), memoryKiB: uint32(m), threads: uint8(th)}
	// argon2 needs at least 8 KiB per thread; 1 GiB and 16 passes are far
	// beyond anything we write.
	if p.memoryKiB > 1<<20 || p.memoryKiB < 8*uint32(p.threads) || p.time > 16 || p.threads == 0 || p.time == 0 {
		return p, nil, nil, errBadHash
	}
	// The decoder skips CR and LF even when strict.
	if strings.ContainsAny(parts[4]+parts[5], "\r\n") {
		return p, nil, nil, errBadHash
	}
	salt, err1 := hashEncoding.DecodeString(parts[4])
	sum, err2 := hashEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > 64 || len(sum) < 16 || len(sum) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, sum, nil
}

// hashField reads "name=N" with N a decimal without sign or leading zeros.
func hashField(s, name string, bits int) (uint64, bool) {
	v, ok := strings.CutPrefix(s, name)
	if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, bits)
	return n, err == nil
}

// verifyCode checks code against a PHC-formatted argon2id hash in constant
// time.
func verifyCode(ctx context.Context, code, encoded string) (bool, error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	select {
	case hashSem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	got := argon2.IDKey([]byte(normaliseCode(code)), salt, p.time, p.memoryKiB, p.threads, uint32(len(want)))
	<-hashSem
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when the user is unknown, so that answer
// takes as long as a wrong code for a known user. It is made on first use:
// every dienstweg process links the portal for demo mode, and an eager
// argon2id hash cost each of them 110 ms and 20 MB before main.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashCode("dummy-never-matches", defaultHashParams)
	if err != nil {
		panic(err)
	}
	return h
})

// newToken returns prefix + 32 random bytes in base64url. Tokens are bearer
// secrets; the server stores only tokenHash.
func newToken(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenHash is SHA-256: tokens carry 256 random bits, so a slow hash
// would add cost without adding safety, and a fast one lets the server
// look a credential up by its hash.
func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func randomID(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// IssueActivationCode creates a fresh activation code for user, replacing
// any earlier one, and returns it in clear text. It is shown once (printed
// in the letter); only its argon2id hash is stored.
func IssueActivationCode(ctx context.Context, st store.Store, user string, now time.Time, ttl time.Duration) (string, error) {
	return issueActivationCode(ctx, st, user, now, ttl, defaultHashParams)
}

func issueActivationCode(ctx context.Context, st store.Store, user string, now time.Time, ttl time.Duration, p hashParams) (string, error) {
	if ttl <= 0 {
		ttl = DefaultActivationTTL
	}
	code, err := NewActivationCode()
	if err != nil {
		return "", err
	}
	h, err := hashCode(code, p)
	if err != nil {
		return "", err
	}
	err = st.SetActivationCode(ctx, store.ActivationCode{User: NormaliseUser(user), Hash: h, CreatedAt: now, ExpiresAt: now.Add(ttl)})
	if err != nil {
		return "", fmt.Errorf("issuing activation code: %w", err)
	}
	return code, nil
}
