package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// maxAccountName is the longest console account name in bytes.
const maxAccountName = 64

// MinPasswordLength is the shortest console password accepted (NIST
// SP 800-63B asks at least 8; the console reaches everyone's devices).
const MinPasswordLength = 12

// totpOpts match the employees' codes: 6 digits, 30 s, one step either side.
var totpOpts = totp.ValidateOpts{Period: uint(authcode.Period / time.Second), Skew: authcode.Skew, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewAccount makes a console account with a fresh TOTP secret and returns
// it with the otpauth URI to show once (authenticator app setup). issuer
// is the organisation's name as the app shows it.
func NewAccount(name, role, password, issuer string, now time.Time) (store.ConsoleAccount, string, error) {
	if role != store.RoleIT && role != store.RoleHelpdesk {
		return store.ConsoleAccount{}, "", fmt.Errorf("role %q: want %s or %s", role, store.RoleIT, store.RoleHelpdesk)
	}
	if name == "" || len(name) > maxAccountName || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == ':' }) {
		return store.ConsoleAccount{}, "", fmt.Errorf("console account name %q: empty, longer than %d bytes, or with control characters or ':'", name, maxAccountName)
	}
	if len([]rune(password)) < MinPasswordLength {
		return store.ConsoleAccount{}, "", fmt.Errorf("the password needs at least %d characters", MinPasswordLength)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return store.ConsoleAccount{}, "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer + " Konsole", AccountName: name, Period: uint(totpOpts.Period), Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return store.ConsoleAccount{}, "", fmt.Errorf("making the TOTP secret: %w", err)
	}
	a := store.ConsoleAccount{Name: name, Role: role, PasswordHash: hash, TOTPSecret: key.Secret(), CreatedAt: now.UTC().Truncate(time.Second)}
	return a, key.URL(), nil
}

// AddAccount stores a new account (see NewAccount) and records it in the
// audit log with actor.
func AddAccount(ctx context.Context, st store.Store, a store.ConsoleAccount, actor string) error {
	if err := st.CreateConsoleAccount(ctx, a); err != nil {
		return err
	}
	return st.AppendAudit(ctx, store.AuditEvent{At: a.CreatedAt, Actor: actor, Action: "console.account.add", Subject: a.Name,
		Details: map[string]string{"role": a.Role}})
}

// passwordParams: argon2id as for activation codes (OWASP: 19 MiB, 2 passes).
const (
	pwTime    = 2
	pwMemory  = 19 * 1024
	pwThreads = 1
)

var b64 = base64.RawStdEncoding.Strict()

// HashPassword returns an argon2id hash in PHC string format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	sum := argon2.IDKey([]byte(pw), salt, pwTime, pwMemory, pwThreads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, pwMemory, pwTime, pwThreads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

var errBadHash = errors.New("malformed password hash")

// checkPassword compares pw with a hash made by HashPassword in constant
// time. It accepts only the parameters HashPassword writes, so a tampered
// row cannot make one check take the server's memory.
func checkPassword(pw, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	want := "v=" + strconv.Itoa(argon2.Version)
	params := fmt.Sprintf("m=%d,t=%d,p=%d", pwMemory, pwTime, pwThreads)
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != want || parts[3] != params {
		return false, errBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	sum, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 16 || len(sum) != 32 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, pwTime, pwMemory, pwThreads, 32)
	return subtle.ConstantTimeCompare(got, sum) == 1, nil
}

// matchTOTP returns the time step whose code is code (now ± one step).
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code, ok := authcode.Normalise(code)
	if !ok || len(code) != int(totpOpts.Digits) {
		return 0, false
	}
	period := int64(totpOpts.Period)
	cur := now.Unix() / period
	var found int64
	matched := false
	for off := -int64(totpOpts.Skew); off <= int64(totpOpts.Skew); off++ {
		step := cur + off
		w, err := totp.GenerateCodeCustom(secret, time.Unix(step*period, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(w), []byte(code)) == 1 && !matched {
			found, matched = step, true
		}
	}
	return found, matched
}
