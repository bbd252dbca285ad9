package policy

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// TestLoadRegistry writes policy values under HKLM, as Group Policy does,
// and reads them back. It runs under Wine (scripts/windows-tests.sh),
// where HKLM is writable, and on the Windows runner when elevated; a
// runner without administrator rights uses HKCU instead and says so.
func TestLoadRegistry(t *testing.T) {
	root, rootName := registry.LOCAL_MACHINE, "HKLM"
	path := fmt.Sprintf(`SOFTWARE\Policies\DienstwegTest%d`, os.Getpid())
	k, _, err := registry.CreateKey(root, path, registry.ALL_ACCESS)
	if errors.Is(err, syscall.ERROR_ACCESS_DENIED) {
		t.Logf("HKLM not writable here (%v); using HKCU", err)
		root, rootName = registry.CURRENT_USER, "HKCU"
		k, _, err = registry.CreateKey(root, path, registry.ALL_ACCESS)
	}
	if err != nil {
		t.Fatalf("creating %s\\%s: %v", rootName, path, err)
	}
	t.Cleanup(func() {
		k.Close()
		if err := registry.DeleteKey(root, path); err != nil {
			t.Errorf("removing the test key: %v", err)
		}
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(k.SetStringValue("TunnelMode", "userspace"))
	must(k.SetDWordValue("AllowReenroll", 0))
	must(k.SetDWordValue("ExpiryWarningMinutes", 30))
	must(k.SetStringValue("HelpdeskText", "IT-Service, Tel. 0123 456-789"))
	must(k.SetDWordValue("AutoStart", 7))           // not a bool: ignored
	must(k.SetStringValue("UpdateCheckHours", "4")) // REG_SZ for a number: ignored
	must(k.SetDWordValue("Unknown", 1))             // no such setting: ignored

	p := LoadRegistry(root, path)
	if p.Origin != rootName+`\`+path {
		t.Errorf("Origin = %q", p.Origin)
	}
	want := Values{KeyTunnelMode: "userspace", KeyAllowReenroll: false, KeyExpiryWarning: 30, KeyHelpdeskText: "IT-Service, Tel. 0123 456-789"}
	if len(p.Values) != len(want) {
		t.Errorf("Values = %v, want %v", p.Values, want)
	}
	for key, v := range want {
		if p.Values[key] != v {
			t.Errorf("%s = %#v, want %#v", key, p.Values[key], v)
		}
	}
	if len(p.Problems) != 3 {
		t.Errorf("Problems = %q, want three (AutoStart, UpdateCheckHours, Unknown)", p.Problems)
	}
	s := Resolve(p, Values{KeyExpiryWarning: 5}, nil)
	if e := s.Get(KeyExpiryWarning); !e.Locked || e.Value != 30 {
		t.Errorf("expiry warning = %+v, want 30 locked by policy", e)
	}

	if missing := LoadRegistry(root, path+`\none`); missing.Origin != "" || len(missing.Values) != 0 {
		t.Errorf("a missing key gave %+v, want no policy", missing)
	}
}
