package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
