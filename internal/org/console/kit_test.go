package console_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/console"
	"github.com/dienstweg/dienstweg/internal/org/letters"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// cred is a console account as its owner knows it.
type cred struct{ name, password, secret string }

// code is the account's authenticator code at now.
func (c cred) code(tb testing.TB, now time.Time) string {
	tb.Helper()
	s, err := totp.GenerateCodeCustom(c.secret, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		tb.Fatalf("GenerateCodeCustom: %v", err)
	}
	return s
}

type env struct {
	*portaltest.Env
	console *console.Console
	it, hd  cred
	reports *fakeReports
}

// fakeReports holds reports a test adds; codes it does not hold are
// looked up in next, if set (the portal's real reports).
type fakeReports struct {
	mu     sync.Mutex
	byCode map[string]console.Report
	next   console.Reports
}

func (f *fakeReports) add(r console.Report) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byCode[r.SupportCode] = r
}

func (f *fakeReports) ReportBySupportCode(ctx context.Context, code string) (console.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.byCode[code]; ok {
		return r, nil
	}
	if f.next != nil {
		return f.next.ReportBySupportCode(ctx, code)
	}
	return console.Report{}, console.ErrNoReport
}

// start runs a portal with the console mounted, one IT and one helpdesk
// account, and the employees anna and bernd.
func start(tb testing.TB) *env {
	tb.Helper()
	e := mount(tb, portaltest.Start(tb, portaltest.Options{}))
	e.addAccounts(tb)
	e.AddUser(tb, "anna", "Anna Beispiel", "buergerbuero")
	e.AddUser(tb, "bernd", "Bernd Muster", "bauamt")
	return e
}

// mount puts a console on a running portal.
func mount(tb testing.TB, pe *portaltest.Env) *env {
	tb.Helper()
	e := &env{Env: pe, reports: &fakeReports{byCode: map[string]console.Report{}}}
	c, err := console.New(console.Config{Store: e.Store, Portal: e.Server, Reports: e.reports, Now: e.Clock.Now,
		Sender: letters.Sender{Organisation: "Stadt Musterstadt", Phone: "0800 123 456", Hours: "Mo–Fr 8–16 Uhr"}})
	if err != nil {
		tb.Fatalf("console.New: %v", err)
	}
	e.console = c
	e.Server.Mount(console.Prefix, c)
	return e
}

func (e *env) addAccounts(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	for _, x := range []struct {
		c    *cred
		role string
	}{{&e.it, store.RoleIT}, {&e.hd, store.RoleHelpdesk}} {
		name := "maria-" + x.role
		pw := "richtig-langes-passwort-" + x.role
		a, uri, err := console.NewAccount(name, x.role, pw, "Stadt Musterstadt", e.Clock.Now())
		if err != nil {
			tb.Fatalf("NewAccount: %v", err)
		}
		if !strings.HasPrefix(uri, "otpauth://totp/") {
			tb.Fatalf("NewAccount uri = %q", uri)
		}
		if err := console.AddAccount(ctx, e.Store, a, "admin:test"); err != nil {
			tb.Fatalf("AddAccount: %v", err)
		}
		*x.c = cred{name, pw, a.TOTPSecret}
	}
}

// device is a laptop set up through the portal.
type device struct {
	ID string
	// portal holds the device's credential, for calls such as SendReport.
	portal *portal.Client
}

// addDevice sets up a laptop of user through the portal API as the
// wizard does (activation code, authenticator code, registration), so
// the user's setup is finished as it would be in real life. The session
// the registration opens for the day is ended again: tests start the
// sessions they want.
func (e *env) addDevice(tb testing.TB, user, name string) device {
	tb.Helper()
	ctx := context.Background()
	activation, err := portalsrv.IssueActivationCode(ctx, e.Store, user, e.Clock.Now(), 0)
	if err != nil {
		tb.Fatalf("IssueActivationCode: %v", err)
	}
	pc := e.Client(tb, nil)
	en, err := pc.StartEnrollment(ctx, user, activation)
	if err != nil {
		tb.Fatalf("StartEnrollment: %v", err)
	}
	if _, err := pc.ConfirmEnrollment(ctx, en.EnrollmentID, authcodetest.Code(tb, en.Secret, e.Clock.Now())); err != nil {
		tb.Fatalf("ConfirmEnrollment: %v", err)
	}
	reg, err := pc.RegisterDevice(ctx, en.EnrollmentID, portaltest.NewWGKey(), name)
	if err != nil {
		tb.Fatalf("RegisterDevice: %v", err)
	}
	if err := e.Store.SetAuthorisation(ctx, reg.DeviceID, time.Time{}, e.Clock.Now()); err != nil {
		tb.Fatalf("SetAuthorisation: %v", err)
	}
	return device{ID: reg.DeviceID, portal: pc}
}

func (e *env) tlsConfig(tb testing.TB) *tls.Config {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(e.CAPEM)) {
		tb.Fatal("portal CA does not parse")
	}
	return &tls.Config{RootCAs: pool}
}

// browserless is a plain HTTP client with cookies, for the checks of
// status codes and headers a browser would hide.
type browserless struct {
	tb   testing.TB
	e    *env
	http *http.Client
}

func (e *env) client(tb testing.TB) *browserless {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: e.tlsConfig(tb)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tb.Cleanup(hc.CloseIdleConnections)
	return &browserless{tb, e, hc}
}

func (b *browserless) do(method, path string, form url.Values) (*http.Response, string) {
	b.tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the form token from a page.
func (b *browserless) csrf(path string) string {
	b.tb.Helper()
	_, page := b.do("GET", path, nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.tb.Fatalf("no csrf field on %s:\n%s", path, page)
	}
	return m[1]
}

// signIn signs in with c's password and current code and returns the
// answer's status.
func (b *browserless) signIn(c cred, password string) int {
	b.tb.Helper()
	tok := b.csrf("/console/signin")
	res, _ := b.do("POST", "/console/signin", url.Values{"csrf": {tok}, "name": {c.name}, "password": {password}, "code": {c.code(b.tb, b.e.Clock.Now())}})
	return res.StatusCode
}
