package portalsrv

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// totpOpts are authcode's TOTP parameters in the library's terms.
var totpOpts = totp.ValidateOpts{
	Period:    uint(authcode.Period / time.Second),
	Skew:      authcode.Skew,
	Digits:    otp.Digits(authcode.Digits),
	Algorithm: otp.AlgorithmSHA1, // authcode.Algorithm; a test holds them together
}

// apiError is an answer the handlers send instead of a result.
type apiError struct {
	status     int
	body       api.Error
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.body.Code + ": " + e.body.Message }

func errBody(code, msg string) api.Error { return api.Error{Code: code, Message: msg} }

func newAPIError(status int, code, msg string) *apiError {
	return &apiError{status: status, body: errBody(code, msg)}
}

// fail answers err: an *apiError as it is, anything else as 500 (logged,
// never shown).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.retryAfter > 0 {
			secs := int(math.Ceil(ae.retryAfter.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		writeError(w, ae.status, ae.body)
		return
	}
	if r.Context().Err() != nil {
		return
	}
	s.log.Error("portal request failed", "route", r.Pattern, "err", err)
	writeError(w, http.StatusInternalServerError, errBody(api.CodeInternal, "internal error, please retry later"))
}

// A factor is one kind of secret. Wrong guesses count and lock per factor
// and user, so guessing one factor never locks another: above all, wrong
// activation codes, which anyone can send, must not lock the session codes
// of an enrolled device.
type factor string

const (
	// factorActivation: the code from IT's letter, per typed user name.
	// Unauthenticated, so the per-source limit applies as well.
	factorActivation factor = "activation"
	// factorConfirm: the TOTP code confirming a new enrollment; only who
	// holds the enrollment id (who knew the activation code) can try.
	factorConfirm factor = "confirm"
	// factorSession: the TOTP code of the day's session; only a
	// registered device's credential can try.
	factorSession factor = "session"
)

// subject is the failure counter and lock of user for f.
func (f factor) subject(user string) string { return string(f) + ":" + user }

// lockedError says how long a user stays locked.
func lockedError(until, now time.Time) *apiError {
	left := until.Sub(now)
	mins := max(1, int(math.Ceil(left.Minutes())))
	u := until.UTC()
	unit := "minutes"
	if mins == 1 {
		unit = "minute"
	}
	return &apiError{
		status: http.StatusTooManyRequests,
		body: api.Error{
			Code:        api.CodeLocked,
			Message:     fmt.Sprintf("too many wrong codes, locked for %d %s", mins, unit),
			LockedUntil: &u,
		},
		retryAfter: left,
	}
}

// charge counts an attempt at subj before the secret is checked and
// returns its number in the lock window. Counting first means parallel
// guesses cannot overtake the lock: of all attempts in a window, at most
// LockAfter are ever checked; the rest are refused unchecked.
func (s *Server) charge(ctx context.Context, subj string, now time.Time) (int, error) {
	until, err := s.st.LockedUntil(ctx, subj)
	if err != nil {
		return 0, err
	}
	if now.Before(until) {
		return 0, lockedError(until, now)
	}
	// Failures before the end of an earlier lock are paid for: after it,
	// the full number of attempts is back. (Not a reset at lock time:
	// that would hand fresh attempts to guesses already in flight.) The
	// store counts whole seconds after since.
	since := now.Add(-s.cfg.LockWindow)
	if end := until.Add(-time.Second); end.After(since) {
		since = end
	}
	n, err := s.st.AddFailure(ctx, subj, now, since)
	if err != nil {
		return 0, err
	}
	if n > s.cfg.LockAfter {
		return 0, s.lock(ctx, subj, now)
	}
	return n, nil
}

func (s *Server) lock(ctx context.Context, subj string, now time.Time) error {
	until := now.Add(s.cfg.LockFor)
	if err := s.st.SetLock(ctx, subj, until); err != nil {
		return err
	}
	f, user, _ := strings.Cut(subj, ":")
	s.metrics.lockouts.WithLabelValues(f).Inc()
	s.audit(ctx, nil, "portal", AuditLockout, user, map[string]string{"factor": f, "until": until.UTC().Format(time.RFC3339)})
	return lockedError(until, now)
}

// wrong answers the failed check of the n-th attempt charged to subj: code
// with the attempts left, or locked after the last one.
func (s *Server) wrong(ctx context.Context, subj string, n int, now time.Time, code, msg string) error {
	f, _, _ := strings.Cut(subj, ":")
	s.metrics.rejected(factor(f))
	if n >= s.cfg.LockAfter {
		return s.lock(ctx, subj, now)
	}
	left := s.cfg.LockAfter - n
	return &apiError{status: http.StatusUnauthorized, body: api.Error{Code: code, Message: msg, AttemptsLeft: &left}}
}

// checkTOTP verifies a 6-digit code of secret for user at now: the current
// and the adjacent time steps are accepted, each step only once per user,
// and failures count towards the lock of user for f.
//
// spend records the accepted step under key (ErrConflict if it was
// spent already) and forgets the failures of subj; nil means
// Store.UseTOTPStep.
func (s *Server) checkTOTP(ctx context.Context, f factor, user, secret, code string, now time.Time, spend func(key string, step int64, subj string) error) error {
	subj := f.subject(user)
	n, err := s.charge(ctx, subj, now)
	if err != nil {
		return err
	}
	// A malformed code is a wrong one: "" matches no step.
	code, _ = authcode.Normalise(code)
	step, ok := matchTOTP(secret, code, now)
	if !ok {
		return s.wrong(ctx, subj, n, now, api.CodeWrongCode, "the code is wrong")
	}
	// Steps are spent per user and secret: a re-enrollment's new secret
	// starts with fresh steps. The code matched, so the attempt was no
	// guess (also if its step is spent already) and the failures go.
	if spend == nil {
		spend = func(key string, step int64, subj string) error { return s.st.UseTOTPStep(ctx, key, step, now, subj) }
	}
	err = spend(user+"#"+tokenHash(secret)[:12], step, subj)
	if errors.Is(err, store.ErrConflict) {
		// Whoever sends it knows the code. Likely a double submit; the
		// user waits for the next code.
		return newAPIError(http.StatusConflict, api.CodeCodeReused, "this code was already used, wait for the next one")
	}
	return err
}

// matchTOTP compares code with the codes of steps now-1, now, now+1 in
// constant time and returns the matching step.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	if len(code) != int(totpOpts.Digits) {
		return 0, false
	}
	period := int64(totpOpts.Period)
	cur := now.Unix() / period
	var found int64
	ok := false
	for off := -int64(totpOpts.Skew); off <= int64(totpOpts.Skew); off++ {
		step := cur + off
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*period, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			found, ok = step, true
		}
	}
	return found, ok
}

// credentialCache remembers bearer → device briefly for announcement
// polls, the hot path; session calls always read the store so a revoked
// device stops at once.
type credentialCache struct {
	mu      sync.Mutex
	entries map[string]credEntry
}

type credEntry struct {
	dev     store.Device
	user    store.User
	expires time.Time
}

const credCacheTTL = 30 * time.Second

func (c *credentialCache) get(hash string, now time.Time) (credEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || now.After(e.expires) {
		return credEntry{}, false
	}
	return e, true
}

func (c *credentialCache) put(hash string, e credEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Bound memory simply: an organisation has a few thousand devices.
	if len(c.entries) > 100_000 {
		clear(c.entries)
	}
	c.entries[hash] = e
}

func (c *credentialCache) clear() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

var errNoCredential = errors.New("no credential")

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// userDisabled answers for a user IT disabled (e.g. who left the
// directory). Only a holder of the user's activation code or device
// credential gets it, so it tells a stranger nothing.
func userDisabled() *apiError {
	return newAPIError(http.StatusForbidden, api.CodeUserDisabled, "this user is disabled, ask IT")
}

func unauthorised() *apiError {
	return newAPIError(http.StatusUnauthorized, api.CodeUnauthorised, "this device is not registered or was revoked")
}

// device authenticates the request's device credential and returns the
// device and its user. cached allows a recent answer from the cache.
func (s *Server) device(r *http.Request, cached bool) (store.Device, store.User, error) {
	tok, ok := bearer(r)
	if !ok {
		return store.Device{}, store.User{}, errNoCredential
	}
	h := tokenHash(tok)
	now := s.cfg.Now()
	if cached {
		if e, ok := s.creds.get(h, now); ok {
			return e.dev, e.user, nil
		}
	}
	d, u, err := s.st.DeviceByCredential(r.Context(), h)
	if errors.Is(err, store.ErrNotFound) {
		return store.Device{}, store.User{}, unauthorised()
	}
	if err != nil {
		return store.Device{}, store.User{}, err
	}
	// Disabling revoked the device too: say why, so the employee knows
	// that a new laptop will not help.
	if u.Disabled() {
		return store.Device{}, store.User{}, userDisabled()
	}
	if !d.RevokedAt.IsZero() {
		return store.Device{}, store.User{}, unauthorised()
	}
	s.creds.put(h, credEntry{dev: d, user: u, expires: now.Add(credCacheTTL)})
	return d, u, nil
}
