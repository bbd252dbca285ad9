package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/directory/ldaptest"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// import-csv: a dry run prints the plan and changes nothing, a bad file
// changes nothing and names its lines, a good one imports and audits.
func TestDirectoryImportCSV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	good := writeFile(t, dir, "good.csv", "user,display name,groups\nanna.schmidt,Anna Schmidt,Bauamt\njoerg,Jörg Müller,Bauamt;Kämmerei\n")
	bad := writeFile(t, dir, "bad.csv", "anna.schmidt,Anna Schmidt,Bauamt\nbernd\nanna.schmidt,Anna S.,x\n")

	out := runOK(t, "directory", "import-csv", good, "--dry-run", "--data", data)
	if !strings.Contains(out, "create   joerg (Jörg Müller) groups: bauamt,kämmerei") || !strings.Contains(out, "dry run: nothing was changed") {
		t.Errorf("dry run printed:\n%s", out)
	}
	if us, _ := openTestStore(t, data).Users(context.Background()); len(us) != 0 {
		t.Fatalf("dry run created %d users", len(us))
	}

	err := run([]string{"directory", "import-csv", bad, "--data", data}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "line 2: 1 fields") {
		t.Errorf("bad file: %v, want line 2 named", err)
	}
	// Parsed well, but a duplicate: the plan refuses it as a whole.
	dup := writeFile(t, dir, "dup.csv", "anna.schmidt,Anna Schmidt,Bauamt\nAnna.Schmidt,Anna S.,x\n")
	err = run([]string{"directory", "import-csv", dup, "--data", data}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "line 2: user \"anna.schmidt\" is also at line 1") {
		t.Errorf("duplicate: %v", err)
	}
	if us, _ := openTestStore(t, data).Users(context.Background()); len(us) != 0 {
		t.Fatalf("a bad file created %d users", len(us))
	}

	out = runOK(t, "directory", "import-csv", good, "--data", data)
	if !strings.Contains(out, "done: 2 created") {
		t.Errorf("import printed:\n%s", out)
	}
	st := openTestStore(t, data)
	u, err := st.User(context.Background(), "joerg")
	if err != nil || u.Source != store.SourceCSV || u.DisplayName != "Jörg Müller" {
		t.Errorf("imported user = %+v, %v", u, err)
	}
	out = runOK(t, "user", "list", "--data", data)
	if !strings.Contains(out, "csv") {
		t.Errorf("user list does not show the source:\n%s", out)
	}
	out = runOK(t, "directory", "import-csv", writeFile(t, dir, "less.csv", "anna.schmidt,Anna Schmidt,Bauamt\n"), "--data", data)
	if !strings.Contains(out, "disable  joerg") || !strings.Contains(out, "1 disabled") {
		t.Errorf("import without joerg printed:\n%s", out)
	}
	if err := run([]string{"user", "code", "joerg", "--data", data}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("user code for a disabled user: %v", err)
	}
}

func TestDirectorySyncRefusesBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "d.json", `{"url": "ldap://dc1.stadt.example", "schema": "ad", "base_dn": "dc=stadt,dc=example"}`)
	err := run([]string{"directory", "sync", "--config", cfg, "--data", filepath.Join(dir, "data")}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "clear text") {
		t.Errorf("plain ldap to a remote host: %v, want refused", err)
	}
}

// disabledCount counts the disabled users in the portal's store.
func disabledCount(t *testing.T, data string) int {
	t.Helper()
	us, err := openTestStore(t, data).Users(context.Background())
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	n := 0
	for _, u := range us {
		if u.Disabled() {
			n++
		}
	}
	return n
}

// A CSV file cut short is refused with the numbers and the way out, and
// changes nothing; --confirm-disable with that number or a higher
// --max-disable lets it through.
func TestDirectoryImportCSVDisableLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var full, short strings.Builder
	for i := range 40 {
		line := fmt.Sprintf("user%02d,Mitarbeiterin %d,kita\n", i, i)
		full.WriteString(line)
		if i < 20 {
			short.WriteString(line)
		}
	}
	runOK(t, "directory", "import-csv", writeFile(t, dir, "full.csv", full.String()), "--data", data)
	shortFile := writeFile(t, dir, "short.csv", short.String())

	out := runOK(t, "directory", "import-csv", shortFile, "--dry-run", "--data", data)
	if !strings.Contains(out, "a run would be refused: the csv import would disable 20 of the 40 active users") {
		t.Errorf("dry run of a short file printed:\n%s", out)
	}
	err := run([]string{"directory", "import-csv", shortFile, "--data", data}, &bytes.Buffer{})
	for _, want := range []string{"would disable 20 of the 40 active users", "at most 10 may be disabled", "Nothing was changed", "--confirm-disable 20"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("short file: %v, want it to say %q", err, want)
		}
	}
	if n := disabledCount(t, data); n != 0 {
		t.Fatalf("a refused import disabled %d users", n)
	}
	evs, _ := openTestStore(t, data).AuditEvents(context.Background(), 0, time.Time{}, 1000)
	if last := evs[len(evs)-1]; last.Action != "directory.import.refused" || last.Details["would_disable"] != "20" || !strings.HasPrefix(last.Actor, "admin:") {
		t.Errorf("last audit entry = %+v, want the refusal", last)
	}

	// A confirmation of another number, or a limit still too low, is not enough.
	for _, args := range [][]string{{"--confirm-disable", "19"}, {"--max-disable", "19"}, {"--max-disable", "45%"}} {
		if err := run(append([]string{"directory", "import-csv", shortFile, "--data", data}, args...), &bytes.Buffer{}); err == nil {
			t.Errorf("import with %v went through", args)
		}
	}
	if err := run([]string{"directory", "import-csv", shortFile, "--max-disable", "viele", "--data", data}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "disable limit") {
		t.Errorf("--max-disable viele: %v", err)
	}
	if n := disabledCount(t, data); n != 0 {
		t.Fatalf("refused imports disabled %d users", n)
	}
	out = runOK(t, "directory", "import-csv", shortFile, "--max-disable", "50%", "--dry-run", "--data", data)
	if strings.Contains(out, "refused") {
		t.Errorf("--max-disable 50%% still refuses:\n%s", out)
	}
	out = runOK(t, "directory", "import-csv", shortFile, "--confirm-disable", "20", "--data", data)
	if !strings.Contains(out, "20 disabled") || disabledCount(t, data) != 20 {
		t.Errorf("confirmed import printed:\n%s", out)
	}
}

// directory sync against a real slapd: a filter that finds only a few
// of the people is refused and disables nobody.
func TestDirectorySyncWrongFilterRefused(t *testing.T) {
	t.Parallel()
	var ps []ldaptest.Person
	for i := range 30 {
		ps = append(ps, ldaptest.Person{UID: fmt.Sprintf("user%02d", i), CN: fmt.Sprintf("Mitarbeiter %d", i)})
	}
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: ldaptest.People(ps...)})
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	pw := writeFile(t, dir, "ldap-password", ldaptest.ServicePassword+"\n")
	config := func(filter string) string {
		return writeFile(t, dir, "directory.json", fmt.Sprintf(`{"url": %q, "schema": "openldap", "bind_dn": %q, "password_file": %q,
			"base_dn": "ou=people,%s", "member_of_attribute": "memberOf", "filter": %q}`, srv.URL, ldaptest.ServiceDN, pw, ldaptest.Suffix, filter))
	}
	out := runOK(t, "directory", "sync", "--config", config("(objectClass=inetOrgPerson)"), "--data", data)
	if !strings.Contains(out, "done: 30 created") {
		t.Fatalf("first sync printed:\n%s", out)
	}
	err := run([]string{"directory", "sync", "--config", config("(&(objectClass=inetOrgPerson)(uid=user0*))"), "--data", data}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "the ldap import would disable 20 of the 30 active users") {
		t.Fatalf("sync with a narrow filter: %v, want refused", err)
	}
	if n := disabledCount(t, data); n != 0 {
		t.Errorf("a refused sync disabled %d users", n)
	}
}
