package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// Cookie names. __Host- makes the browser refuse them unless set Secure,
// with Path=/ and no Domain, so no other host or plain HTTP can plant one.
const (
	sessionCookie = "__Host-dw-console"
	// signinCookie holds the CSRF token of the sign-in form, before there
	// is a session (double submit).
	signinCookie = "__Host-dw-signin"
)

// account is the signed-in account of a request.
type account struct {
	store.ConsoleAccount
	sessionHash string
	csrf        string
}

func (a *account) actor() string { return "console:" + a.Name }

type ctxKey struct{}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// csrfToken is bound to the session: who cannot read the cookie cannot
// compute it, and it changes with every sign-in.
func csrfToken(sessionID string) string {
	s := sha256.Sum256([]byte("dienstweg console csrf\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// session reads the signed-in account of r, nil if none.
func (c *Console) session(r *http.Request) (*account, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	h := hashToken(ck.Value)
	cs, err := c.st.ConsoleSession(r.Context(), h, c.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a, err := c.st.ConsoleAccount(r.Context(), cs.Account)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &account{ConsoleAccount: a, sessionHash: h, csrf: csrfToken(ck.Value)}, nil
}

func current(r *http.Request) *account { return r.Context().Value(ctxKey{}).(*account) }

// allow serves h to signed-in accounts of the given roles only; others
// see the sign-in page or 403. POSTs must carry the session's CSRF token.
// Every console route goes through here: the role check is on the server,
// whatever links a page shows.
func (c *Console) allow(roles []string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := c.session(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if a == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
				return
			}
			c.status(w, r, nil, http.StatusUnauthorized, "Bitte melden Sie sich an.")
			return
		}
		ok := false
		for _, role := range roles {
			ok = ok || a.Role == role
		}
		if !ok {
			c.status(w, r, a, http.StatusForbidden, "Diese Seite ist für Ihre Rolle nicht freigegeben.")
			return
		}
		if r.Method == http.MethodPost && formTooBig(r) {
			c.status(w, r, a, http.StatusRequestEntityTooLarge, fmt.Sprintf("Das Formular ist zu groß (höchstens %d KiB). Eine CSV-Datei für den Import teilen Sie bitte in kleinere Dateien auf.", maxFormBytes>>10))
			return
		}
		if r.Method == http.MethodPost && subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(a.csrf)) != 1 {
			c.status(w, r, a, http.StatusForbidden, "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, a)))
	})
}

// formTooBig parses the form and says whether it exceeded maxFormBytes
// (ServeHTTP's limit), so a large upload is not mistaken for a missing
// CSRF token. Other parse errors are left to the token check.
func formTooBig(r *http.Request) bool {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxFormBytes)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig)
}

// audit records a change made through the console; a failed write fails
// the request, since the change would otherwise go unrecorded.
func (c *Console) audit(ctx context.Context, a *account, action, subject string, details map[string]string) error {
	if details == nil {
		details = map[string]string{}
	}
	err := c.st.AppendAudit(ctx, store.AuditEvent{At: c.cfg.Now(), Actor: a.actor(), Action: action, Subject: subject, Details: details})
	if err != nil {
		return fmt.Errorf("writing the audit log: %w", err)
	}
	return nil
}

type signinData struct {
	CSRF    string
	Name    string
	Error   string
	Waiting int
}

func (c *Console) handleSigninForm(w http.ResponseWriter, r *http.Request) {
	tok, err := newToken()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	setCookie(w, signinCookie, tok, 3600)
	c.render(w, r, nil, http.StatusOK, "signin", "Anmelden", signinData{CSRF: tok})
}

// dummyPasswordHash is checked for unknown accounts so that the answer
// takes as long as for a wrong password.
var dummyPasswordHash = sync.OnceValue(func() string {
	h, err := HashPassword("dummy password never matches")
	if err != nil {
		panic(err)
	}
	return h
})

func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *Console) handleSignin(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(signinCookie)
	form := r.PostFormValue("csrf")
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		c.status(w, r, nil, http.StatusForbidden, "Das Anmeldeformular ist abgelaufen. Bitte laden Sie die Seite neu.")
		return
	}
	ctx := r.Context()
	now := c.cfg.Now()
	name := strings.TrimSpace(r.PostFormValue("name"))
	// No account has a longer name; the cut keeps bucket keys small.
	if len(name) > maxAccountName {
		name = name[:maxAccountName]
	}
	// Wrong sign-ins are limited per account name and per source address,
	// in the store's token buckets, so every portal instance counts them.
	keys := []struct {
		key   string
		burst int
	}{
		{"console-signin:account:" + name, c.cfg.SignInBurst},
		{"console-signin:source:" + sourceOf(r), 4 * c.cfg.SignInBurst},
	}
	for _, k := range keys {
		wait, err := c.st.TokenWait(ctx, k.key, now, c.cfg.SignInEvery, k.burst)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", fmt.Sprint(secs))
			c.render(w, r, nil, http.StatusTooManyRequests, "signin", "Anmelden",
				signinData{CSRF: ck.Value, Name: name, Waiting: secs, Error: fmt.Sprintf("Zu viele Fehlversuche. Bitte warten Sie %d Sekunden.", secs)})
			return
		}
	}
	a, err := c.checkSignin(ctx, name, r.PostFormValue("password"), r.PostFormValue("code"), now)
	if err != nil {
		for _, k := range keys {
			if err := c.st.TakeToken(ctx, k.key, now, c.cfg.SignInEvery); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		_ = c.st.AppendAudit(ctx, store.AuditEvent{At: now, Actor: "console:" + name, Action: "console.signin.fail", Subject: name,
			Details: map[string]string{"source": sourceOf(r), "reason": err.Error()}})
		c.render(w, r, nil, http.StatusUnauthorized, "signin", "Anmelden",
			signinData{CSRF: ck.Value, Name: name, Error: "Anmeldung fehlgeschlagen: Name, Passwort oder Code stimmt nicht."})
		return
	}
	tok, err := newToken()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	cs := store.ConsoleSession{IDHash: hashToken(tok), Account: a.Name, CreatedAt: now, ExpiresAt: now.Add(c.cfg.SessionTTL)}
	if err := c.st.PutConsoleSession(ctx, cs); err != nil {
		c.fail(w, r, err)
		return
	}
	if err := c.st.AppendAudit(ctx, store.AuditEvent{At: now, Actor: "console:" + a.Name, Action: "console.signin", Subject: a.Name,
		Details: map[string]string{"source": sourceOf(r), "role": a.Role}}); err != nil {
		c.fail(w, r, err)
		return
	}
	setCookie(w, sessionCookie, tok, int(c.cfg.SessionTTL.Seconds()))
	setCookie(w, signinCookie, "", -1)
	http.Redirect(w, r, home(a.Role), http.StatusSeeOther)
}

var errSignin = errors.New("wrong name, password or code")

// checkSignin checks password and authenticator code; each code is
// accepted once.
func (c *Console) checkSignin(ctx context.Context, name, password, code string, now time.Time) (store.ConsoleAccount, error) {
	a, err := c.st.ConsoleAccount(ctx, name)
	hash := a.PasswordHash
	if errors.Is(err, store.ErrNotFound) || name == "" {
		hash = dummyPasswordHash()
	} else if err != nil {
		return a, err
	}
	ok, herr := checkPassword(password, hash)
	if err != nil || herr != nil || !ok {
		return a, fmt.Errorf("%w (password)", errSignin)
	}
	step, ok := matchTOTP(a.TOTPSecret, code, now)
	if !ok {
		return a, fmt.Errorf("%w (code)", errSignin)
	}
	// Employees' steps are kept as "NAME#HASH", so this key is never
	// theirs; no NUL, which PostgreSQL's text refuses.
	if err := c.st.UseTOTPStep(ctx, "console:"+a.Name, step, now, ""); err != nil {
		return a, fmt.Errorf("%w (code used before): %v", errSignin, err)
	}
	return a, nil
}

func (c *Console) handleSignout(w http.ResponseWriter, r *http.Request) {
	a := current(r)
	if err := c.st.DeleteConsoleSession(r.Context(), a.sessionHash); err != nil {
		c.fail(w, r, err)
		return
	}
	_ = c.audit(r.Context(), a, "console.signout", a.Name, nil)
	setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

func home(role string) string {
	if role == store.RoleIT {
		return Prefix + "users"
	}
	return Prefix + "helpdesk"
}

// CSRF is the token every form of this session carries.
func (a *account) CSRF() string { return a.csrf }
