package console_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dienstweg/dienstweg/internal/org/console"
	"github.com/dienstweg/dienstweg/internal/org/letters/letterstest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portal/api"
	"github.com/dienstweg/dienstweg/internal/update"
)

// screenshotDir, if set, receives console-PAGE.png of each page (make
// screenshots; docs/console.md).
var screenshotDir = os.Getenv("DIENSTWEG_CONSOLE_SCREENSHOTS")

// startBrowser starts one headless Chromium from Debian's package for the
// whole test, trusting only the portal's certificate key.
func startBrowser(t *testing.T, e *env) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is missing: install Debian's package chromium (scripts/deps.sh does)")
	}
	host := strings.TrimPrefix(e.URL, "https://")
	conn, err := tls.Dial("tcp", host, e.tlsConfig(t))
	if err != nil {
		t.Fatalf("reading the portal's certificate: %v", err)
	}
	spki := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	conn.Close()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("password-store", "basic"),
		// Not --ignore-certificate-errors: only this portal's key passes.
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "de-DE"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

// tab opens a tab in a browser context of its own (own cookies), as a
// second person at another desk.
func tab(t *testing.T, bctx context.Context) context.Context {
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first action makes the tab; it must run on ctx itself, not on a
	// step's timeout context, or the tab would end with that step.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

// stepTimeout bounds one step, so a page that never comes fails fast.
const stepTimeout = 20 * time.Second

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mainText(t *testing.T, ctx context.Context) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	return s
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	return s
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if screenshotDir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, "console-"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// signIn fills the sign-in form with the keyboard and sends it with Enter.
// It waits for the page that follows: done is a selector only it has.
func signIn(t *testing.T, e *env, ctx context.Context, c cred, password, done string) {
	t.Helper()
	do(t, ctx, "sign-in", chromedp.Navigate(e.URL+"/console/signin"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), c.name),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("code"), c.code(t, e.Clock.Now())),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(done)))
}

// download clicks sel and returns the file the browser saved.
func download(t *testing.T, ctx context.Context, sel string) []byte {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	do(t, ctx, "download", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		yes := true
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &yes,
			BrowserContextID: chromedp.FromContext(ctx).BrowserContextID})
		return err
	}), chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			return b
		case browser.DownloadProgressStateCanceled:
			t.Fatal("download canceled")
		}
	}
	page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	t.Fatalf("no download; the page says %q", page)
	return nil
}

// TestBrowser drives the console in a real Chromium: one browser for the
// whole binary, the steps in order on one portal.
func TestBrowser(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	annaLaptop := e.addDevice(t, "anna", "Laptop Anna")
	berndLaptop := e.addDevice(t, "bernd", "Laptop Bernd")
	now := e.Clock.Now()
	if err := e.Store.SetAuthorisation(ctx, annaLaptop.ID, now.Add(10*time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.AppendAudit(ctx, store.AuditEvent{At: now.Add(-time.Hour), Actor: "user:anna", Action: portalsrv.AuditSessionAuthorise, Subject: annaLaptop.ID}); err != nil {
		t.Fatal(err)
	}
	// Anna's laptop is connected through the portal's gateway, as the
	// gateway reports it.
	devs, err := e.Store.AuthorisedDevices(ctx, now)
	if err != nil || len(devs) != 1 {
		t.Fatalf("AuthorisedDevices = %+v, %v", devs, err)
	}
	if _, err := e.Server.RecordHandshakes(ctx, e.Server.Tunnel().GatewayPublicKey, []portalsrv.PeerHandshake{{DeviceID: devs[0].ID, PublicKey: devs[0].PublicKey, AgeSeconds: 12}}); err != nil {
		t.Fatalf("RecordHandshakes: %v", err)
	}
	m, _ := json.Marshal(update.Manifest{Schema: 1, Product: "dienstweg", Version: "1.4.0", Channel: "stable", RolloutPercent: 25, Published: now, Expires: now.Add(30 * 24 * time.Hour)})
	if err := e.Store.PutRelease(ctx, store.Release{Channel: "stable", Manifest: m, Signature: []byte("sig"), PublishedAt: now}); err != nil {
		t.Fatal(err)
	}
	bctx := startBrowser(t, e)
	it := tab(t, bctx)

	t.Run("wrong_password_refused_and_rate_limited", func(t *testing.T) {
		do(t, it, "sign-in page", chromedp.Navigate(e.URL+"/console/signin"), chromedp.WaitVisible(chromedp.ID("name")))
		screenshot(t, it, "signin")
		signIn(t, e, it, e.it, "falsches-passwort-123", "#signin-error")
		if got := mainText(t, it); !strings.Contains(got, "Anmeldung fehlgeschlagen") {
			t.Fatalf("after a wrong password the page says %q", got)
		}
		for range 4 {
			signIn(t, e, it, e.it, "falsches-passwort-123", "#signin-error")
		}
		signIn(t, e, it, e.it, e.it.password, "#signin-error")
		if got := mainText(t, it); !strings.Contains(got, "Zu viele Fehlversuche") {
			t.Fatalf("the right password after 5 wrong ones: page says %q, want the wait", got)
		}
		e.Clock.Advance(61 * time.Second)
	})

	t.Run("sign_in_with_password_and_code", func(t *testing.T) {
		signIn(t, e, it, e.it, e.it.password, "nav")
		if got := location(t, it); !strings.HasSuffix(got, "/console/users") {
			t.Fatalf("after sign-in at %s, want /console/users", got)
		}
		if got := mainText(t, it); !strings.Contains(got, "Anna Beispiel") || !strings.Contains(got, "buergerbuero") {
			t.Fatalf("users page: %q", got)
		}
		screenshot(t, it, "users")
		// Keyboard: the first Tab reaches the skip link, Enter on it moves
		// the focus to the page's content.
		focused := func() string {
			t.Helper()
			ctx, cancel := context.WithTimeout(it, stepTimeout)
			defer cancel()
			s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className || document.activeElement.id`))
			if err != nil {
				t.Fatalf("reading the focus: %v", err)
			}
			return s
		}
		do(t, it, "tab", chromedp.KeyEvent(kb.Tab))
		if got := focused(); got != "skip" {
			t.Errorf("first Tab focuses %q, want the skip link", got)
		}
		do(t, it, "enter", chromedp.KeyEvent(kb.Enter))
		if got := focused(); got != "inhalt" {
			t.Errorf("the skip link moves the focus to %q, want main#inhalt", got)
		}
		for _, p := range []struct{ path, want string }{
			{"devices", "Laptop Bernd"}, {"sessions", e.Server.Tunnel().GatewayEndpoint + "\nletzter Kontakt vor 1 min"}, {"releases", "25 %"}, {"audit", "console.signin"},
		} {
			do(t, it, p.path, chromedp.Navigate(e.URL+"/console/"+p.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
			if got := mainText(t, it); !strings.Contains(got, p.want) {
				t.Errorf("%s page lacks %q:\n%s", p.path, p.want, got)
			}
			screenshot(t, it, p.path)
		}
	})

	t.Run("announcement_reaches_a_client", func(t *testing.T) {
		do(t, it, "announcement form", chromedp.Navigate(e.URL+"/console/announcements"),
			chromedp.WaitVisible(chromedp.ID("title_de")))
		// The texts are set, not typed (the sign-in types): three key
		// events a letter, each a round trip through the renderer, took
		// the 78 letters past the step's bound on a loaded machine.
		do(t, it, "preview",
			chromedp.SetValue(chromedp.ID("severity"), "maintenance"),
			chromedp.SetValue(chromedp.ID("title_de"), "Wartung am Samstag"),
			chromedp.SetValue(chromedp.ID("body_de"), "Am Samstag ist die Verbindung von 8 bis 12 Uhr unterbrochen."),
			chromedp.Click(chromedp.CSS(`button[value="preview"]`)),
			chromedp.WaitVisible(chromedp.ID("preview")))
		if got := mainText(t, it); !strings.Contains(got, "Wartung am Samstag") {
			t.Fatalf("preview: %q", got)
		}
		screenshot(t, it, "announcements")
		do(t, it, "publish", chromedp.Click(chromedp.CSS(`button[value="post"]`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
		// A real client, without a device: the announcement is for all.
		list, err := e.Client(t, nil).Announcements(ctx, "")
		if err != nil {
			t.Fatalf("client Announcements: %v", err)
		}
		found := false
		for _, a := range list.Items {
			found = found || (a.Title.DE == "Wartung am Samstag" && a.Severity == "maintenance")
		}
		if !found {
			t.Fatalf("the client got %+v, not the new announcement", list.Items)
		}
	})

	t.Run("import_users_from_csv", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "benutzer.csv")
		csv := "user,display name,groups\nanna,Anna Beispiel,buergerbuero\nclara,Clara Schäfer,kita;buergerbuero\ndieter,\"Dieter Müller, Dr.\",bauamt\n"
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		do(t, it, "import form", chromedp.Navigate(e.URL+"/console/import"), chromedp.WaitVisible(chromedp.ID("file")),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
			chromedp.Click(chromedp.CSS(`form[action="/console/import"] button`)),
			chromedp.WaitVisible(chromedp.ID("plan")))
		got := mainText(t, it)
		for _, want := range []string{"Clara Schäfer", "Dieter Müller, Dr.", "2 neu", "1 übersprungen", "Von Hand angelegt"} {
			if !strings.Contains(got, want) {
				t.Errorf("plan page lacks %q:\n%s", want, got)
			}
		}
		if u, err := e.Store.User(ctx, "clara"); err == nil {
			t.Fatalf("the plan alone created %+v", u)
		}
		screenshot(t, it, "import")
		do(t, it, "apply", chromedp.Click(chromedp.CSS(`form[action="/console/import/apply"] button`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
		if got := location(t, it); !strings.Contains(got, "/console/users") {
			t.Fatalf("after Übernehmen at %s, want the users page", got)
		}
		if got := mainText(t, it); !strings.Contains(got, "Clara Schäfer") || !strings.Contains(got, "Dieter Müller, Dr.") || !strings.Contains(got, "2 angelegt") {
			t.Fatalf("users page after the import: %q", got)
		}
		if got := auditActions(t, e.Store, "console:"+e.it.name); !slices.Contains(got, "directory.user.create clara") {
			t.Errorf("audit = %v, want directory.user.create clara by the console account", got)
		}
	})

	t.Run("import_beyond_the_disable_limit_refused_in_german", func(t *testing.T) {
		names := addCSVUsers(t, e, 40)
		file := filepath.Join(t.TempDir(), "benutzer-gekuerzt.csv")
		// Cut short: clara, dieter and 3 of the 40.
		csv := "user,display name,groups\nclara,Clara Schäfer,kita;buergerbuero\ndieter,\"Dieter Müller, Dr.\",bauamt\n"
		for _, n := range names[:3] {
			csv += n + ",Mitarbeiterin,kita\n"
		}
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		do(t, it, "import form", chromedp.Navigate(e.URL+"/console/import"), chromedp.WaitVisible(chromedp.ID("file")),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
			chromedp.Click(chromedp.CSS(`form[action="/console/import"] button`)),
			chromedp.WaitVisible(chromedp.ID("refusal")))
		got := mainText(t, it)
		for _, want := range []string{"Der Import würde 37 von 42 aktiven Benutzerkonten sperren", "höchstens 10 Konten", "Es wurde nichts geändert.", "37 Konten sollen gesperrt werden"} {
			if !strings.Contains(got, want) {
				t.Errorf("plan page lacks %q:\n%s", want, got)
			}
		}
		screenshot(t, it, "import-refused")
		// Übernehmen without the checkbox: refused, nothing disabled.
		do(t, it, "apply unconfirmed", chromedp.Click(chromedp.CSS(`form[action="/console/import/apply"] button`)), chromedp.WaitVisible(chromedp.ID("confirm-error")))
		if got := disabledUsers(t, e.Store); len(got) != 0 {
			t.Fatalf("an unconfirmed import disabled %v", got)
		}
		// With the keyboard: focus the checkbox, Space ticks it, Enter
		// on the button sends.
		do(t, it, "apply confirmed", chromedp.Focus(chromedp.ID("confirm_disable")), chromedp.KeyEvent(" "),
			chromedp.Focus(chromedp.CSS(`form[action="/console/import/apply"] button`)), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.CSS(".notice")))
		if got := mainText(t, it); !strings.Contains(got, "37 gesperrt") {
			t.Errorf("users page after the confirmed import: %q", got)
		}
		if got := disabledUsers(t, e.Store); !slices.Equal(got, names[3:]) {
			t.Errorf("disabled = %v, want %v", got, names[3:])
		}
	})

	t.Run("print_letters", func(t *testing.T) {
		do(t, it, "letters form", chromedp.Navigate(e.URL+"/console/letters"), chromedp.WaitVisible(chromedp.ID("u-bernd")),
			chromedp.Click(chromedp.ID("u-bernd")))
		screenshot(t, it, "letters")
		pdf := download(t, it, `main button[type="submit"]`)
		pages := letterstest.Pages(t, pdf)
		if len(pages) != 1 || !strings.Contains(pages[0], "bernd") || !strings.Contains(pages[0], "Aktivierungscode") {
			t.Fatalf("letters PDF pages = %q", pages)
		}
		if got := auditActions(t, e.Store, "console:"+e.it.name); !containsPrefix(got, "console.letter bernd") {
			t.Errorf("audit = %v, want console.letter bernd", got)
		}
	})

	t.Run("post_without_csrf_token_refused", func(t *testing.T) {
		do(t, it, "devices", chromedp.Navigate(e.URL+"/console/devices"), chromedp.WaitVisible(chromedp.CSS("main form")))
		// Drop the token from the first form, as a forged form would lack it.
		if _, err := chromedp.Run(it, chromedp.Evaluate[bool](`(() => { document.querySelector('main form input[name=csrf]').remove(); return true })()`)); err != nil {
			t.Fatalf("removing the token: %v", err)
		}
		do(t, it, "revoke", chromedp.Click(chromedp.CSS("main form button")), chromedp.WaitVisible(chromedp.CSS(".alert")))
		if got := mainText(t, it); !strings.Contains(got, "Formular ist abgelaufen") {
			t.Fatalf("page after a post without token: %q", got)
		}
		for _, id := range []string{annaLaptop.ID, berndLaptop.ID} {
			if d, err := e.Store.DeviceByID(ctx, id); err != nil || !d.RevokedAt.IsZero() {
				t.Fatalf("device %s = %+v, %v; want still active", id, d, err)
			}
		}
	})

	hd := tab(t, bctx)
	t.Run("helpdesk_cannot_open_it_pages", func(t *testing.T) {
		signIn(t, e, hd, e.hd, e.hd.password, "nav")
		if got := location(t, hd); !strings.HasSuffix(got, "/console/helpdesk") {
			t.Fatalf("helpdesk lands on %s", got)
		}
		for _, p := range []string{"users", "import", "devices", "announcements", "letters", "audit"} {
			do(t, hd, p, chromedp.Navigate(e.URL+"/console/"+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
			if got := mainText(t, hd); !strings.Contains(got, "nicht freigegeben") {
				t.Errorf("helpdesk opened %s: %q", p, got)
			}
		}
	})

	t.Run("support_code_lookup", func(t *testing.T) {
		do(t, hd, "unknown code", chromedp.Navigate(e.URL+"/console/helpdesk"), chromedp.WaitVisible(chromedp.ID("code")),
			chromedp.SendKeys(chromedp.ID("code"), "DW-NONE-0000"), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("main .alert")))
		if got := mainText(t, hd); !strings.Contains(got, "Noch kein Bericht") {
			t.Fatalf("unknown code: %q", got)
		}
		// Anna's laptop sends its state as the agent does when she presses
		// "An den IT-Service senden"; Bernd's laptop then sends her code
		// and is refused, so the helpdesk still sees Anna's laptop.
		e.reports.next = console.PortalReports(e.Server, e.Store)
		sent, err := annaLaptop.portal.SendReport(ctx, api.DeviceReport{
			SupportCode: "DW-7K3Q-9X", Version: "1.3.2", OS: "windows/amd64", TunnelMode: "system", Session: "problem",
			Headline: "Störung – siehe Details", Screen: "C1",
			Health: []api.ReportLink{
				{Code: "local_network", Name: "Heimnetz", OK: true}, {Code: "internet", Name: "Internet", OK: true, Detail: "18 ms"},
				{Code: "portal", Name: "Portal", OK: true}, {Code: "gateway", Name: "Zugang", OK: false, Detail: "Keine Antwort seit 3 Minuten"},
			},
			Errors:    []api.ReportError{{Time: e.Clock.Now().Add(-2 * time.Minute), Text: "Der Zugang antwortet nicht."}},
			CreatedAt: e.Clock.Now(),
		})
		if err != nil {
			t.Fatalf("SendReport: %v", err)
		}
		e.Clock.Advance(4 * time.Minute)
		_, err = berndLaptop.portal.SendReport(ctx, api.DeviceReport{SupportCode: "DW-7K3Q-9X", Version: "1.4.0", OS: "linux/amd64", Session: "connected"})
		var pe *portal.Error
		if !errors.As(err, &pe) || pe.Kind != portal.KindSupportCodeTaken {
			t.Fatalf("Bernd's laptop sending Anna's code: %v, want it refused as taken", err)
		}
		do(t, hd, "code", chromedp.Navigate(e.URL+"/console/helpdesk?code="+url.QueryEscape("dw 7k3q 9x")), chromedp.WaitVisible(chromedp.CSS("main h2")))
		got := mainText(t, hd)
		for _, want := range []string{"1.3.2", "C1", "Keine Antwort seit 3 Minuten", "Anna Beispiel", "Laptop Anna", "für alle Programme",
			"Zuletzt gesendet: heute " + strings.TrimPrefix(sent.In(berlinTZ(t)).Format("15:04"), "0") + " Uhr",
			"Einrichtung abgeschlossen am", "(hat den Bericht oben gesendet)"} {
			if !strings.Contains(got, want) {
				t.Errorf("report page lacks %q:\n%s", want, got)
			}
		}
		for _, wrong := range []string{"Laptop Bernd", "1.4.0", "Noch nicht eingerichtet", "Noch kein Gerät"} {
			if strings.Contains(got, wrong) {
				t.Errorf("report page shows %q:\n%s", wrong, got)
			}
		}
	})

	t.Run("end_a_lockout", func(t *testing.T) {
		if err := e.Store.SetLock(ctx, "session:anna", e.Clock.Now().Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		do(t, hd, "lookup", chromedp.Navigate(e.URL+"/console/helpdesk?code=DW-7K3Q-9X"), chromedp.WaitVisible(chromedp.CSS("main h2")))
		if got := mainText(t, hd); !strings.Contains(got, "Gesperrt nach zu vielen falschen Codes") {
			t.Fatalf("locked user shown as %q", got)
		}
		screenshot(t, hd, "helpdesk")
		do(t, hd, "unlock", chromedp.Click(chromedp.CSS(`form[action="/console/helpdesk/unlock"] button`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
		if locked, err := e.Server.Locked(ctx, "anna"); err != nil || locked {
			t.Fatalf("Locked after unlock = %v, %v", locked, err)
		}
		if got := auditActions(t, e.Store, "console:"+e.hd.name); !containsPrefix(got, portalsrv.AuditLockoutEnd+" anna") {
			t.Errorf("audit = %v, want lockout.end anna by the helpdesk", got)
		}
	})

	t.Run("new_code_with_letter", func(t *testing.T) {
		pdf := download(t, hd, `form[action="/console/helpdesk/letter"] button`)
		if pages := letterstest.Pages(t, pdf); len(pages) != 1 || !strings.Contains(pages[0], "anna") {
			t.Fatalf("letter = %q", pages)
		}
	})

	t.Run("revoke_a_lost_device", func(t *testing.T) {
		do(t, hd, "lookup", chromedp.Navigate(e.URL+"/console/helpdesk?user=anna"), chromedp.WaitVisible(chromedp.CSS("main h2")),
			chromedp.Click(chromedp.CSS(`form[action="/console/devices/revoke"] button`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
		if d, err := e.Store.DeviceByID(ctx, annaLaptop.ID); err != nil || d.RevokedAt.IsZero() {
			t.Fatalf("device after revoke = %+v, %v; want revoked", d, err)
		}
		if got := mainText(t, hd); !strings.Contains(got, "gesperrt seit") {
			t.Errorf("helpdesk page after revoke: %q", got)
		}
	})
}

func containsPrefix(list []string, p string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
