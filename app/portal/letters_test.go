package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/letters/letterstest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/profile"
)

// The letters carry working codes: each employee signs in at the real
// portal with the code printed on their own page, and the code from the
// old letter stops working.
func TestLettersCarryCodesThatSignIn(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	oldCode := env.AddUser(t, "anna.schmidt", "Anna Schmidt")
	env.AddUser(t, "juergen.mueller", "Jürgen Müller")

	dir := t.TempDir()
	profPath := writeProfile(t, dir, env)
	pdfPath := filepath.Join(dir, "letters.pdf")
	out := runOK(t, "letters", "--data", env.Dir, "--profile", profPath, "--out", pdfPath, "--not-enrolled")
	if !strings.Contains(out, "2 letters in "+pdfPath) {
		t.Errorf("letters printed %q", out)
	}
	fi, err := os.Stat(pdfPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("letters file mode %v, want 0600: it holds activation codes", fi.Mode().Perm())
	}
	pdf, err := os.ReadFile(pdfPath)
	if err != nil {
		t.Fatal(err)
	}
	pages := letterstest.Pages(t, pdf)
	if len(pages) != 2 {
		t.Fatalf("%d pages, want 2", len(pages))
	}
	codeOn := regexp.MustCompile(`Aktivierungscode ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})`)
	c := env.Client(t, nil)
	ctx := context.Background()
	for _, tc := range []struct{ user, name string }{{"anna.schmidt", "Anna Schmidt"}, {"juergen.mueller", "Jürgen Müller"}} {
		var page string
		for _, p := range pages {
			if strings.Contains(p, "Benutzername "+tc.user) {
				page = p
			}
		}
		if !strings.Contains(page, "Guten Tag "+tc.name) || !strings.Contains(page, "Stadt Musterstadt") || !strings.Contains(page, "0421 361-0000") {
			t.Errorf("letter for %s:\n%s", tc.user, page)
		}
		m := codeOn.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no activation code on %s's letter:\n%s", tc.user, page)
		}
		if _, err := c.StartEnrollment(ctx, tc.user, m[1]); err != nil {
			t.Errorf("%s signing in with the letter's code: %v", tc.user, err)
		}
	}
	if _, err := c.StartEnrollment(ctx, "anna.schmidt", oldCode); err == nil {
		t.Errorf("the code of the old letter still signs in")
	}
}

func TestLettersRefuseBeforeReplacingCodes(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	code := env.AddUser(t, "anna.schmidt", "Anna Schmidt")
	dir := t.TempDir()
	// A profile that does not exist, then a folder that does not exist:
	// both refused before any code is replaced.
	for _, args := range [][]string{
		{"--profile", filepath.Join(dir, "missing.json"), "--out", filepath.Join(dir, "l.pdf")},
		{"--profile", writeProfile(t, dir, env), "--out", filepath.Join(dir, "nope", "l.pdf")},
	} {
		err := run(append([]string{"letters", "--data", env.Dir, "anna.schmidt"}, args...), &bytes.Buffer{})
		if err == nil {
			t.Fatalf("letters %q succeeded", args)
		}
	}
	if _, err := env.Client(t, nil).StartEnrollment(context.Background(), "anna.schmidt", code); err != nil {
		t.Errorf("the old code was replaced although no letter was printed: %v", err)
	}
}

// writeProfile writes a valid organisation profile for env's portal.
func writeProfile(t *testing.T, dir string, env *portaltest.Env) string {
	t.Helper()
	b, err := json.Marshal(profile.Profile{
		Organisation: "Stadt Musterstadt", PortalURL: env.URL, PortalCA: env.CAPEM,
		OfficeDNSName: "intranet.musterstadt.example",
		Helpdesk:      profile.Helpdesk{Phone: "0421 361-0000", Hours: "Mo–Fr 7–18 Uhr"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := profile.Parse(b); err != nil {
		t.Fatalf("the test's profile is not valid: %v", err)
	}
	path := filepath.Join(dir, "profile.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
