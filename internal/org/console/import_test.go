package console_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// postMultipart sends fields and, if file is not nil, the file field
// "file", as a browser sends the import forms.
func (b *browserless) postMultipart(path string, fields map[string]string, file []byte) (*http.Response, string) {
	b.tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "benutzer.csv")
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.http.Do(req)
	if err != nil {
		b.tb.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

var (
	planField = regexp.MustCompile(`name="plan" value="([^"]+)"`)
	csvField  = regexp.MustCompile(`(?s)name="csv" value="([^"]*)"`)
)

func userNames(t *testing.T, st store.Store) []string {
	t.Helper()
	us, err := st.Users(context.Background())
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

// The helpdesk cannot import, not even with a valid token and a real
// multipart upload; nothing is created.
func TestImportIsITOnly(t *testing.T) {
	t.Parallel()
	e := start(t)
	hd := e.client(t)
	if got := hd.signIn(e.hd, e.hd.password); got != http.StatusSeeOther {
		t.Fatalf("helpdesk sign-in = %d", got)
	}
	tok := hd.csrf("/console/helpdesk")
	csv := []byte("user,display name,groups\nclara,Clara Neu,kita\n")
	if res, _ := hd.do("GET", "/console/import", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("helpdesk GET import = %d, want 403", res.StatusCode)
	}
	if res, _ := hd.postMultipart("/console/import", map[string]string{"csrf": tok}, csv); res.StatusCode != http.StatusForbidden {
		t.Errorf("helpdesk POST import = %d, want 403", res.StatusCode)
	}
	if res, _ := hd.postMultipart("/console/import/apply", map[string]string{"csrf": tok, "csv": string(csv), "plan": "x"}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("helpdesk POST import/apply = %d, want 403", res.StatusCode)
	}
	if got := userNames(t, e.Store); slices.Contains(got, "clara") {
		t.Errorf("users after the helpdesk's tries = %v, want no clara", got)
	}
}

// A file with bad lines shows each problem at the file field and
// applies nothing, even when its good lines are sent to apply.
func TestImportBadCSVAppliesNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.client(t)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", got)
	}
	tok := b.csrf("/console/import")
	bad := "user,display name,groups\nclara,Clara Neu,kita\nnur-ein-feld\n,Leer,\n"
	res, page := b.postMultipart("/console/import", map[string]string{"csrf": tok}, []byte(bad))
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad file = %d, want 422:\n%s", res.StatusCode, page)
	}
	for _, want := range []string{`aria-invalid="true" aria-describedby="file-error"`, `id="file-error"`,
		"<li>Zeile 3: 1 Feld statt 2 oder 3.", "<li>Zeile 4: Der Benutzername fehlt.</li>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s:\n%s", want, page)
		}
	}
	// The directory package's English stays out of the German page.
	for _, english := range []string{"line 3", "fields, want", "user name is empty"} {
		if strings.Contains(page, english) {
			t.Errorf("page shows the English %q:\n%s", english, page)
		}
	}
	if strings.Contains(page, "/console/import/apply") {
		t.Errorf("a bad file offers Übernehmen")
	}
	// Applying the bad text directly is refused as well.
	res, _ = b.postMultipart("/console/import/apply", map[string]string{"csrf": tok, "csv": bad, "plan": "x"}, nil)
	if res.StatusCode == http.StatusSeeOther {
		t.Errorf("apply of a bad file = %d, want refused", res.StatusCode)
	}
	if got := userNames(t, e.Store); slices.Contains(got, "clara") {
		t.Errorf("users = %v, want no clara", got)
	}
}

// Übernehmen applies the plan shown, with the console account in the
// audit log; if the users changed after the plan was shown, it applies
// nothing and shows the new plan.
func TestImportAppliesThePlanShown(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.client(t)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", got)
	}
	tok := b.csrf("/console/import")
	csv := "user,display name,groups\nclara,Clara Neu,kita\ndieter,\"Dieter Älter, Dr.\",bauamt;kita\n"
	res, page := b.postMultipart("/console/import", map[string]string{"csrf": tok}, []byte(csv))
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Dieter Älter, Dr.") {
		t.Fatalf("plan = %d:\n%s", res.StatusCode, page)
	}
	plan, sent := planField.FindStringSubmatch(page), csvField.FindStringSubmatch(page)
	if plan == nil || sent == nil {
		t.Fatalf("plan page lacks the apply form:\n%s", page)
	}
	if got := userNames(t, e.Store); slices.Contains(got, "clara") {
		t.Fatalf("the plan alone created users: %v", got)
	}

	// Someone adds clara by hand meanwhile: the plan shown is stale.
	e.AddUser(t, "clara", "Clara von Hand", "kita")
	res, page = b.postMultipart("/console/import/apply", map[string]string{"csrf": tok, "csv": csv, "plan": plan[1]}, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "inzwischen geändert") {
		t.Fatalf("apply of a stale plan = %d:\n%s", res.StatusCode, page)
	}
	if got := userNames(t, e.Store); slices.Contains(got, "dieter") {
		t.Fatalf("a stale plan was applied: %v", got)
	}
	plan = planField.FindStringSubmatch(page)

	res, _ = b.postMultipart("/console/import/apply", map[string]string{"csrf": tok, "csv": csv, "plan": plan[1]}, nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/console/users?ok=") {
		t.Fatalf("apply = %d to %q, want 303 to the users page", res.StatusCode, res.Header.Get("Location"))
	}
	u, err := e.Store.User(context.Background(), "dieter")
	if err != nil || u.DisplayName != "Dieter Älter, Dr." || !slices.Equal(u.Groups, []string{"bauamt", "kita"}) || u.Source != store.SourceCSV {
		t.Fatalf("dieter = %+v, %v", u, err)
	}
	if u, _ := e.Store.User(context.Background(), "clara"); u.Source == store.SourceCSV {
		t.Errorf("clara added by hand was taken over: %+v", u)
	}
	if got := auditActions(t, e.Store, "console:"+e.it.name); !slices.Contains(got, "directory.user.create dieter") {
		t.Errorf("audit of the console account = %v, want directory.user.create dieter", got)
	}
}

// A file beyond the console's body limit is refused as too large (not as
// an expired form), and nothing is read from it.
func TestImportFileTooLarge(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.client(t)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", got)
	}
	tok := b.csrf("/console/import")
	big := []byte("user,display name,groups\n" + strings.Repeat("zoe,Zoe Groß,kita\n", 20000))
	res, page := b.postMultipart("/console/import", map[string]string{"csrf": tok}, big)
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "zu groß") {
		t.Fatalf("%d-byte upload = %d, want 413 saying zu groß:\n%s", len(big), res.StatusCode, page)
	}
	if got := userNames(t, e.Store); slices.Contains(got, "zoe") {
		t.Errorf("users = %v, want no zoe", got)
	}
}

// Each problem of a file is worded in German at the file field.
func TestImportProblemsInGerman(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.client(t)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", got)
	}
	tok := b.csrf("/console/import")
	for _, tc := range []struct {
		name, file, want string
	}{
		{"field_count", "clara,Clara,kita,zu viel\n", "Zeile 1: 4 Felder statt 2 oder 3."},
		{"no_user_name", "clara,Clara\n ,Niemand,kita\n", "Zeile 2: Der Benutzername fehlt."},
		{"duplicate", "clara,Clara\ndora,Dora\nClara,Clara S.\n", "Zeile 3: Der Benutzername „clara“ steht schon in Zeile 1."},
		{"bad_quote", "clara,\"Clara\" Neu,kita\n", "Zeile 1, Zeichen 13: Ein Anführungszeichen ist nicht geschlossen"},
		{"bare_quote", "clara,Clara \"die Neue\",kita\n", "Zeile 1, Zeichen 13: Ein Anführungszeichen steht mitten in einem Feld."},
		// The character a person counts, not the byte: ö is two bytes.
		{"quote_after_umlauts", "jörg,\"Jörg\" Möller,kita\n", "Zeile 1, Zeichen 11: Ein Anführungszeichen ist nicht geschlossen"},
		{"too_long", "clara,Clara\n" + strings.Repeat("ä", 70) + ",Lang\n", "Zeile 2: Der Benutzername „" + strings.Repeat("ä", 70) + "“ ist zu lang; bei der Einrichtung passen höchstens 128 Byte"},
		{"untypable", "cla\x01ra,Clara\n", "Zeile 1: Der Benutzername „cla\\x01ra“ enthält Zeichen, die niemand eintippen kann."},
		{"not_utf8", "clara,Cl\xe4ra\n", "Die Datei ist kein UTF-8-Text. Bitte speichern Sie sie als „CSV UTF-8“."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, page := b.postMultipart("/console/import", map[string]string{"csrf": tok}, []byte(tc.file))
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422", res.StatusCode)
			}
			if !strings.Contains(html.UnescapeString(page), "<li>"+tc.want) {
				t.Errorf("page lacks %q:\n%s", tc.want, page)
			}
		})
	}
}

// addCSVUsers stores n active users as earlier CSV imports left them.
func addCSVUsers(t *testing.T, e *env, n int) []string {
	t.Helper()
	var names []string
	for i := range n {
		name := fmt.Sprintf("mitarbeiter%02d", i)
		if err := e.Store.CreateUser(context.Background(), store.User{Name: name, DisplayName: fmt.Sprintf("Mitarbeiterin %d", i), Source: store.SourceCSV, CreatedAt: e.Clock.Now()}); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		names = append(names, name)
	}
	return names
}

func disabledUsers(t *testing.T, st store.Store) []string {
	t.Helper()
	us, err := st.Users(context.Background())
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	var out []string
	for _, u := range us {
		if u.Disabled() {
			out = append(out, u.Name)
		}
	}
	return out
}

// A file cut short would disable most users: the plan page says so in
// German and asks for the checkbox; Übernehmen without it changes
// nothing and is in the audit log; with it, the plan is applied.
func TestImportBeyondDisableLimitNeedsConfirmation(t *testing.T) {
	t.Parallel()
	e := start(t)
	names := addCSVUsers(t, e, 30)
	b := e.client(t)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", got)
	}
	tok := b.csrf("/console/import")
	short := "user,display name,groups\n"
	for _, n := range names[:5] {
		short += n + ",Mitarbeiterin,kita\n"
	}
	res, page := b.postMultipart("/console/import", map[string]string{"csrf": tok}, []byte(short))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("plan = %d:\n%s", res.StatusCode, page)
	}
	for _, want := range []string{
		`<p class="alert" role="alert" id="refusal">Der Import würde 25 von 30 aktiven Benutzerkonten sperren, die er verwaltet, und ihre Geräte ebenfalls. Ohne Bestätigung sperrt ein Import höchstens 10 Konten (5 % der aktiven Konten, mindestens 10).`,
		`<input type="checkbox" id="confirm_disable" name="confirm_disable" value="25">`,
		"25 Konten sollen gesperrt werden",
	} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("plan page lacks %s:\n%s", want, page)
		}
	}
	plan, sent := planField.FindStringSubmatch(page), csvField.FindStringSubmatch(page)
	if plan == nil || sent == nil {
		t.Fatalf("plan page lacks the apply form:\n%s", page)
	}

	// Übernehmen without the checkbox, and with a number the page did
	// not show: refused, nothing disabled or updated.
	for _, confirm := range []string{"", "24"} {
		fields := map[string]string{"csrf": tok, "csv": short, "plan": plan[1]}
		if confirm != "" {
			fields["confirm_disable"] = confirm
		}
		res, page = b.postMultipart("/console/import/apply", fields, nil)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `aria-invalid="true" aria-describedby="confirm-error"`) ||
			!strings.Contains(page, "Bitte bestätigen Sie das Sperren mit dem Häkchen. Es wurde nichts geändert.") {
			t.Fatalf("apply with confirm %q = %d:\n%s", confirm, res.StatusCode, page)
		}
		if got := disabledUsers(t, e.Store); len(got) != 0 {
			t.Fatalf("a refused import disabled %v", got)
		}
		if u, _ := e.Store.User(context.Background(), names[0]); len(u.Groups) != 0 {
			t.Fatalf("a refused import updated %+v", u)
		}
	}
	actor := "console:" + e.it.name
	got := auditActions(t, e.Store, actor)
	refusals := 0
	for _, a := range got {
		if a == "directory.import.refused csv" {
			refusals++
		}
	}
	if refusals != 2 || containsPrefix(got, "directory.user.") {
		t.Errorf("audit = %v, want two refusals and no user change", got)
	}

	fields := map[string]string{"csrf": tok, "csv": short, "plan": plan[1], "confirm_disable": "25"}
	res, _ = b.postMultipart("/console/import/apply", fields, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed apply = %d, want 303", res.StatusCode)
	}
	if got := disabledUsers(t, e.Store); !slices.Equal(got, names[5:]) {
		t.Errorf("disabled after confirmation = %v, want %v", got, names[5:])
	}
	if got := auditActions(t, e.Store, actor); !slices.Contains(got, "directory.user.disable "+names[29]) {
		t.Errorf("audit = %v, want the disables by %s", got, actor)
	}
}

// "Von Hand angelegte Benutzer übernehmen" is the CLI's
// --take-over-manual: the plan shows the hand-added user as changed,
// and Übernehmen hands it to the import.
func TestImportTakeOverManual(t *testing.T) {
	t.Parallel()
	e := start(t) // anna and bernd added by hand
	b := e.client(t)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", got)
	}
	tok := b.csrf("/console/import")
	file := "anna,Anna Beispiel-Neu,buergerbuero\nbernd,Bernd Muster,bauamt\n"
	_, page := b.postMultipart("/console/import", map[string]string{"csrf": tok}, []byte(file))
	if !strings.Contains(page, "2 übersprungen") {
		t.Fatalf("without the checkbox the hand-added users are not skipped:\n%s", page)
	}
	_, page = b.postMultipart("/console/import", map[string]string{"csrf": tok, "take_over_manual": "1"}, []byte(file))
	for _, want := range []string{"2 geändert", "0 übersprungen", "Anna Beispiel → Anna Beispiel-Neu", "übernommen (bisher von Hand angelegt)", `id="take_over_manual" name="take_over_manual" value="1" checked`, `<input type="hidden" name="take_over_manual" value="1">`} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("plan taking over lacks %s:\n%s", want, page)
		}
	}
	plan := planField.FindStringSubmatch(page)
	if plan == nil {
		t.Fatalf("no apply form:\n%s", page)
	}
	// The take-over is part of the plan: applied without it, the plan
	// differs and nothing happens.
	res, page := b.postMultipart("/console/import/apply", map[string]string{"csrf": tok, "csv": file, "plan": plan[1]}, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "inzwischen geändert") {
		t.Fatalf("apply without the take-over = %d:\n%s", res.StatusCode, page)
	}
	res, _ = b.postMultipart("/console/import/apply", map[string]string{"csrf": tok, "csv": file, "plan": plan[1], "take_over_manual": "1"}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("apply = %d, want 303", res.StatusCode)
	}
	for _, n := range []string{"anna", "bernd"} {
		if u, err := e.Store.User(context.Background(), n); err != nil || u.Source != store.SourceCSV {
			t.Errorf("%s after the take-over = %+v, %v; want managed by the CSV import", n, u, err)
		}
	}
}
