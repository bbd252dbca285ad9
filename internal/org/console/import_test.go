package console_test

import (
	"bytes"
	"context"
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
