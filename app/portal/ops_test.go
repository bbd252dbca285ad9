package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/sealing"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// Admin commands leave audit entries with the admin's name, and audit
// export writes them as JSON lines, --since filtering.
func TestAuditExport(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	runOK(t, "user", "add", "anna", "--data", data)
	runOK(t, "user", "code", "anna", "--data", data)
	runOK(t, "announce", "post", "--data", data, "--id", "w", "--title-de", "W", "--title-en", "W")

	lines := exportLines(t, "audit", "export", "--data", data)
	var actions []string
	for _, l := range lines {
		actions = append(actions, l.Action)
		if !strings.HasPrefix(l.Actor, "admin:") || l.Time.IsZero() || l.ID == 0 {
			t.Errorf("audit line %+v: want an admin actor, a time and an id", l)
		}
	}
	if want := []string{"admin.user.add", "admin.user.code", "admin.announce.post"}; !slices.Equal(actions, want) {
		t.Errorf("audit actions = %v, want %v", actions, want)
	}
	if got := exportLines(t, "audit", "export", "--data", data, "--after-id", "2"); len(got) != 1 || got[0].Action != "admin.announce.post" {
		t.Errorf("export after id 2 = %+v", got)
	}
	future := time.Now().Add(time.Hour).Format(time.RFC3339)
	if got := exportLines(t, "audit", "export", "--data", data, "--since", future); len(got) != 0 {
		t.Errorf("export since the future = %+v", got)
	}
}

func exportLines(tb testing.TB, args ...string) []auditLine {
	tb.Helper()
	var out []auditLine
	sc := bufio.NewScanner(strings.NewReader(runOK(tb, args...)))
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// The key file is made 0600 beside (not in) the data directory; a wider
// mode stops every command; keys rotate re-seals with a new key.
func TestKeyFileAndRotation(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	runOK(t, "user", "add", "anna", "--data", data)
	keyFile := data + "-keys/secrets.key"
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, %v; want mode 0600", keyFile, fi, err)
	}
	// A confirmed secret, written as the portal would.
	st := openForTest(t, data, keyFile)
	must(t, st.PutEnrollment(ctx, store.Enrollment{IDHash: "e", User: "anna", Secret: "ANNASECRET", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}))
	st.Close()

	out := runOK(t, "keys", "rotate", "--data", data)
	if !strings.Contains(out, "key 2 now seals; 1 secret(s) re-sealed") {
		t.Errorf("keys rotate = %q", out)
	}
	raw, err := store.OpenSQLite(ctx, filepath.Join(data, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := raw.StoredSecrets(ctx)
	raw.Close()
	keys, _ := sealing.Open(keyFile)
	if len(rows) != 1 {
		t.Fatalf("stored secrets = %+v", rows)
	}
	if id, ok := keys.KeyID(rows[0].Value); !ok || id != 2 {
		t.Errorf("secret after rotation sealed with key %d (%v), want 2", id, ok)
	}
	st = openForTest(t, data, keyFile)
	if e, err := st.Enrollment(ctx, "e"); err != nil || e.Secret != "ANNASECRET" {
		t.Errorf("secret after rotation = %q, %v", e.Secret, err)
	}
	st.Close()

	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"user", "list", "--data", data}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("user list with a readable key file: %v, want a refusal", err)
	}
}

func openForTest(tb testing.TB, data, keyFile string) store.Store {
	tb.Helper()
	fs, _ := flags("test")
	if err := fs.Parse([]string{"--data", data, "--key-file", keyFile}); err != nil {
		tb.Fatal(err)
	}
	st, err := openStore(fs)
	if err != nil {
		tb.Fatalf("openStore: %v", err)
	}
	return st
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
