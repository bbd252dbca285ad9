package main

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// console-user add stores the account with its TOTP secret sealed and
// prints the authenticator setup once.
func TestConsoleUserAdd(t *testing.T) {
	data := t.TempDir()
	orig := consoleIn
	t.Cleanup(func() { consoleIn = orig })
	consoleIn = strings.NewReader("ein-langes-passwort\n")
	var out bytes.Buffer
	if err := run([]string{"console-user", "add", "maria", "--role", "helpdesk", "--issuer", "Stadt Musterstadt", "--data", data}, &out); err != nil {
		t.Fatalf("console-user add: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`otpauth://totp/\S+`).FindString(out.String())
	u, err := url.Parse(m)
	if err != nil || u.Query().Get("secret") == "" {
		t.Fatalf("no otpauth URI in:\n%s", out.String())
	}
	if strings.Contains(out.String(), "ein-langes-passwort") {
		t.Error("the password was echoed")
	}
	raw, err := store.OpenSQLite(context.Background(), filepath.Join(data, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	a, err := raw.ConsoleAccount(context.Background(), "maria")
	if err != nil || a.Role != store.RoleHelpdesk || !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
		t.Fatalf("stored account = %+v, %v", a, err)
	}
	if a.TOTPSecret == u.Query().Get("secret") || a.TOTPSecret == "" {
		t.Errorf("the TOTP secret is stored in clear text: %q", a.TOTPSecret)
	}
	consoleIn = strings.NewReader("kurz\n")
	if err := run([]string{"console-user", "add", "otto", "--role", "it", "--data", data}, &bytes.Buffer{}); err == nil {
		t.Error("a short password was accepted")
	}
	consoleIn = strings.NewReader("ein-langes-passwort\n")
	if err := run([]string{"console-user", "add", "otto", "--role", "admin", "--data", data}, &bytes.Buffer{}); err == nil {
		t.Error("an unknown role was accepted")
	}
}
