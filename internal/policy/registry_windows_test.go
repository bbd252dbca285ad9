package policy

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// regAdd writes one value with reg.exe, as an administrator or Group
// Policy would, not with the reader's own library.
func regAdd(t *testing.T, key, name, typ, data string) error {
	t.Helper()
	out, err := exec.Command("reg", "add", key, "/v", name, "/t", typ, "/d", data, "/f").CombinedOutput()
	if err != nil {
		return fmt.Errorf("reg add %s /v %s: %v: %s", key, name, err, out)
	}
	return nil
}

// TestLoadRegistry writes policy values under HKLM with reg.exe and
// reads them back. It runs under Wine (scripts/windows-tests.sh), where
// HKLM is writable, and on the Windows runner when elevated; a runner
// without administrator rights uses HKCU instead and says so.
func TestLoadRegistry(t *testing.T) {
	path := fmt.Sprintf(`SOFTWARE\Policies\DienstwegTest%d`, os.Getpid())
	root, rootName := registry.LOCAL_MACHINE, "HKLM"
	if err := regAdd(t, rootName+`\`+path, "TunnelMode", "REG_SZ", "userspace"); err != nil {
		t.Logf("HKLM not writable here (%v); using HKCU", err)
		root, rootName = registry.CURRENT_USER, "HKCU"
		if err := regAdd(t, rootName+`\`+path, "TunnelMode", "REG_SZ", "userspace"); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := registry.DeleteKey(root, path); err != nil {
			t.Errorf("removing the test key: %v", err)
		}
	})
	key := rootName + `\` + path
	for _, v := range []struct{ name, typ, data string }{
		{"AllowReenroll", "REG_DWORD", "0"},
		{"ExpiryWarningMinutes", "REG_DWORD", "30"},
		{"HelpdeskText", "REG_SZ", "IT-Service, Tel. 0123 456-789"},
		{"AutoStart", "REG_DWORD", "7"},     // not a bool: ignored
		{"UpdateCheckHours", "REG_SZ", "4"}, // REG_SZ for a number: ignored
		{"Unknown", "REG_DWORD", "1"},       // no such setting: ignored
	} {
		if err := regAdd(t, key, v.name, v.typ, v.data); err != nil {
			t.Fatal(err)
		}
	}

	p := LoadRegistry(root, path)
	if p.Origin != key {
		t.Errorf("Origin = %q, want %q", p.Origin, key)
	}
	want := Values{KeyTunnelMode: "userspace", KeyAllowReenroll: false, KeyExpiryWarning: 30, KeyHelpdeskText: "IT-Service, Tel. 0123 456-789"}
	if len(p.Values) != len(want) {
		t.Errorf("Values = %v, want %v", p.Values, want)
	}
	for k, v := range want {
		if p.Values[k] != v {
			t.Errorf("%s = %#v, want %#v", k, p.Values[k], v)
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
