package policy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolveOrder(t *testing.T) {
	t.Parallel()
	pol := Policy{Values: Values{KeyLanguage: "de", KeyAllowReenroll: false}, Origin: "/etc/dienstweg/policy.json"}
	user := Values{KeyLanguage: "en", KeyExpiryWarning: 30, KeyUpdateCheckHours: 1 /* not the person's */}
	profile := Values{KeyTunnelMode: "auto", KeyExpiryWarning: 5}
	s := Resolve(pol, user, profile)
	tests := []struct {
		key        string
		value      any
		source     Source
		locked, us bool
	}{
		{KeyLanguage, "de", FromPolicy, true, false},
		{KeyAllowReenroll, false, FromPolicy, true, false},
		{KeyExpiryWarning, 30, FromUser, false, true},
		{KeyUpdateCheckHours, 6, FromDefault, false, false},
		{KeyTunnelMode, "auto", FromProfile, false, false},
		{KeyAutoStart, false, FromDefault, false, true},
	}
	for _, tt := range tests {
		e := s.Get(tt.key)
		if e.Value != tt.value || e.Source != tt.source || e.Locked != tt.locked || e.User != tt.us {
			t.Errorf("%s = %+v, want value %v from %s, locked %v, user %v", tt.key, e, tt.value, tt.source, tt.locked, tt.us)
		}
	}
	if got := s.Locked(); len(got) != 2 {
		t.Errorf("Locked() = %v", got)
	}
	if len(s.List) != len(Schema) {
		t.Errorf("%d effective settings for %d in the schema", len(s.List), len(Schema))
	}
}

func TestUserStoreKeepsOnlyPersonsSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u, problems, err := OpenUserStore(dir)
	if err != nil || len(problems) != 0 {
		t.Fatalf("OpenUserStore: %v %v", problems, err)
	}
	if err := u.Set(KeyLanguage, "en"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := u.Set(KeyExpiryWarning, 20); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := u.Set(KeyExpiryWarning, nil); err != nil {
		t.Fatalf("Set nil: %v", err)
	}
	again, problems, err := OpenUserStore(dir)
	if err != nil || len(problems) != 0 {
		t.Fatalf("reopen: %v %v", problems, err)
	}
	if v := again.Values(); len(v) != 1 || v[KeyLanguage] != "en" {
		t.Errorf("reopened values = %v, want only language en", v)
	}
	// A hand edit that sets IT's settings is not the person's to make.
	if err := os.WriteFile(filepath.Join(dir, UserFile), []byte(`{"allow_reenroll": true, "auto_start": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	edited, problems, err := OpenUserStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v := edited.Values(); len(v) != 1 || v[KeyAutoStart] != true || len(problems) != 1 {
		t.Errorf("values = %v, problems %q; want only auto_start and one problem", v, problems)
	}
}
