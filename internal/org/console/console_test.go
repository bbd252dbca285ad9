package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

func auditActions(t *testing.T, st store.Store, actor string) []string {
	t.Helper()
	evs, err := st.AuditEvents(context.Background(), 0, time.Time{}, 1000)
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	var out []string
	for _, e := range evs {
		if e.Actor == actor {
			out = append(out, e.Action+" "+e.Subject)
		}
	}
	return out
}

func TestSignInSetsSecureSession(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.client(t)
	res, page := b.do("GET", "/console/signin", nil)
	if got := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'none'; style-src 'self';") || strings.Contains(got, "script") {
		t.Errorf("Content-Security-Policy = %q", got)
	}
	if !strings.Contains(page, `<html lang="de">`) || !strings.Contains(page, `<label for="password">`) {
		t.Errorf("sign-in page lacks lang or labels:\n%s", page)
	}
	tok := csrfField.FindStringSubmatch(page)[1]
	res, _ = b.do("POST", "/console/signin", url.Values{"csrf": {tok}, "name": {e.it.name}, "password": {e.it.password}, "code": {e.it.code(t, e.Clock.Now())}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/users" {
		t.Fatalf("sign-in = %d to %q, want 303 to /console/users", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "__Host-dw-console" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" || session.Domain != "" {
		t.Fatalf("session cookie = %+v, want __Host- with Secure, HttpOnly, SameSite=Strict, Path=/", session)
	}
	if res, page := b.do("GET", "/console/users", nil); res.StatusCode != 200 || !strings.Contains(page, "Anna Beispiel") {
		t.Fatalf("users page = %d:\n%s", res.StatusCode, page)
	}
	// The same code a second time is refused: it was seen once.
	if got := e.client(t).signIn(e.it, e.it.password); got != http.StatusUnauthorized {
		t.Errorf("sign-in with a used code = %d, want 401", got)
	}
	if got := auditActions(t, e.Store, "console:"+e.it.name); !slices.Contains(got, "console.signin "+e.it.name) {
		t.Errorf("audit of the account = %v, want console.signin", got)
	}
}

// Wrong passwords are refused, and after the burst even the right one
// waits: the limit holds before the password is checked.
func TestSignInRateLimited(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.client(t)
	for i := range 5 {
		if got := b.signIn(e.it, "falsches-passwort-123"); got != http.StatusUnauthorized {
			t.Fatalf("wrong password %d = %d, want 401", i+1, got)
		}
	}
	if got := b.signIn(e.it, e.it.password); got != http.StatusTooManyRequests {
		t.Fatalf("right password after 5 wrong = %d, want 429", got)
	}
	e.Clock.Advance(61 * time.Second)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("right password a minute later = %d, want 303", got)
	}
	fails := 0
	for _, a := range auditActions(t, e.Store, "console:"+e.it.name) {
		if strings.HasPrefix(a, "console.signin.fail") {
			fails++
		}
	}
	if fails != 5 {
		t.Errorf("audit has %d failed sign-ins, want 5", fails)
	}
}

// Every route checks the role on the server: the helpdesk gets 403 on
// each IT route (GET and POST, with a valid CSRF token), and nobody
// signed out reaches any.
func TestRolesOnEveryRoute(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.addDevice(t, "anna", "Laptop Anna")
	hd := e.client(t)
	if got := hd.signIn(e.hd, e.hd.password); got != http.StatusSeeOther {
		t.Fatalf("helpdesk sign-in = %d", got)
	}
	tok := hd.csrf("/console/helpdesk")
	anon := e.client(t)
	for _, rt := range e.console.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.TrimSuffix(path, "{$}")
		var form url.Values
		if method == "POST" {
			form = url.Values{"csrf": {tok}, "user": {"anna"}, "device": {"nope"}}
		}
		res, _ := anon.do(method, path, form)
		if want := map[string]int{"GET": 303, "POST": 401}[method]; res.StatusCode != want {
			t.Errorf("signed out %s = %d, want %d", rt.Pattern, res.StatusCode, want)
		}
		if slices.Contains(rt.Roles, store.RoleHelpdesk) {
			continue
		}
		if res, _ := hd.do(method, path, form); res.StatusCode != http.StatusForbidden {
			t.Errorf("helpdesk %s = %d, want 403", rt.Pattern, res.StatusCode)
		}
	}
	if a, err := e.Store.Announcements(context.Background()); err != nil || len(a) != 0 {
		t.Errorf("announcements after the helpdesk's tries = %v, %v; want none", a, err)
	}
}

// A POST without the session's token changes nothing.
func TestCSRFRequired(t *testing.T) {
	t.Parallel()
	e := start(t)
	dev := e.addDevice(t, "anna", "Laptop Anna")
	b := e.client(t)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", got)
	}
	for _, tok := range []string{"", "forged"} {
		res, _ := b.do("POST", "/console/devices/revoke", url.Values{"csrf": {tok}, "device": {dev.ID}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("revoke with csrf %q = %d, want 403", tok, res.StatusCode)
		}
	}
	if d, err := e.Store.DeviceByID(context.Background(), dev.ID); err != nil || !d.RevokedAt.IsZero() {
		t.Fatalf("device after forged posts = %+v, %v; want active", d, err)
	}
	// The sign-in form needs its cookie's token as well.
	res, _ := e.client(t).do("POST", "/console/signin", url.Values{"csrf": {"x"}, "name": {e.it.name}, "password": {e.it.password}, "code": {e.it.code(t, e.Clock.Now())}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the form's cookie = %d, want 403", res.StatusCode)
	}
	res, _ = b.do("POST", "/console/devices/revoke", url.Values{"csrf": {b.csrf("/console/devices")}, "device": {dev.ID}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke with token = %d, want 303", res.StatusCode)
	}
	if got := auditActions(t, e.Store, "console:"+e.it.name); !slices.Contains(got, "device.revoke "+dev.ID) {
		t.Errorf("audit = %v, want device.revoke by the console account", got)
	}
}

func TestSignOutEndsSession(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.client(t)
	b.signIn(e.hd, e.hd.password)
	tok := b.csrf("/console/helpdesk")
	if res, _ := b.do("POST", "/console/signout", url.Values{"csrf": {tok}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out = %d", res.StatusCode)
	}
	if res, _ := b.do("GET", "/console/helpdesk", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("helpdesk page after sign-out = %d, want 303 to sign-in", res.StatusCode)
	}
}

// A form with mistakes comes back with each message tied to its field,
// and nothing is posted.
func TestAnnouncementErrorsTiedToFields(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.client(t)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", got)
	}
	tok := b.csrf("/console/announcements")
	res, page := b.do("POST", "/console/announcements", url.Values{"csrf": {tok}, "action": {"post"}, "severity": {"info"},
		"title_de": {""}, "body_de": {"Text"}, "from": {"2026-12-01T08:00"}, "until": {"2026-11-01T08:00"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("post with mistakes = %d, want 400", res.StatusCode)
	}
	for _, want := range []string{
		`id="title_de" name="title_de" value="" required aria-invalid="true" aria-describedby="title_de-error"`,
		`<p class="error" id="title_de-error">`,
		`aria-invalid="true" aria-describedby="until-error"`,
		`<p class="alert" role="alert">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if a, err := e.Store.Announcements(context.Background()); err != nil || len(a) != 0 {
		t.Errorf("announcements = %v, %v; want none", a, err)
	}
}
