package helper

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolvConfEditUndoesItself(t *testing.T) {
	t.Parallel()
	office := []netip.Addr{netip.MustParseAddr("10.77.0.1")}
	for _, tc := range []struct {
		name, orig string
		wantSearch string
	}{
		{"plain", "nameserver 192.0.2.53\n", "search musterstadt.example"},
		{"with_search", "# from dhcp\nnameserver 192.0.2.53\nsearch fritz.box\noptions edns0\n", "search musterstadt.example fritz.box"},
		{"domain_line_and_duplicate", "domain Musterstadt.example\nnameserver 192.0.2.53\n", "search musterstadt.example"},
		{"empty", "", "search musterstadt.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := string(addOfficeDNS([]byte(tc.orig), office, []string{"musterstadt.example"}))
			lines := strings.Split(strings.TrimSpace(got), "\n")
			var ns, search []string
			for _, l := range lines {
				if strings.HasPrefix(l, "nameserver ") {
					ns = append(ns, l)
				}
				if strings.HasPrefix(l, "search ") || strings.HasPrefix(l, "domain ") {
					search = append(search, l)
				}
			}
			if len(ns) == 0 || ns[0] != "nameserver 10.77.0.1" {
				t.Errorf("office server is not asked first:\n%s", got)
			}
			if len(search) != 1 || search[0] != tc.wantSearch {
				t.Errorf("search lines %q, want only %q:\n%s", search, tc.wantSearch, got)
			}
			// Applying twice changes nothing more.
			if again := string(addOfficeDNS([]byte(got), office, []string{"musterstadt.example"})); again != got {
				t.Errorf("second apply changed the file:\n%s\nthen\n%s", got, again)
			}
			if back := string(removeOfficeDNS([]byte(got))); back != tc.orig {
				t.Errorf("revert = %q, want the original %q", back, tc.orig)
			}
		})
	}
	t.Run("keeps_changes_made_by_others", func(t *testing.T) {
		t.Parallel()
		got := addOfficeDNS([]byte("nameserver 192.0.2.53\n"), office, nil)
		got = append(got, "options rotate\n"...)
		if back := string(removeOfficeDNS(got)); back != "nameserver 192.0.2.53\noptions rotate\n" {
			t.Errorf("revert = %q", back)
		}
	})
}

func TestEditResolvConfInPlace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "real-resolv.conf")
	link := filepath.Join(dir, "resolv.conf")
	orig := "nameserver 192.0.2.53\n"
	if err := os.WriteFile(target, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symlink (as NetworkManager or resolvconf set up) stays one.
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	office := []netip.Addr{netip.MustParseAddr("10.77.0.1")}
	if err := editResolvConf(link, func(b []byte) []byte { return addOfficeDNS(b, office, nil) }); err != nil {
		t.Fatalf("editResolvConf: %v", err)
	}
	b, _ := os.ReadFile(target)
	if !strings.Contains(string(b), "nameserver 10.77.0.1") {
		t.Errorf("target not changed: %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink replaced: %v %v", fi, err)
	}
	if err := editResolvConf(link, removeOfficeDNS); err != nil {
		t.Fatalf("editResolvConf revert: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != orig {
		t.Errorf("after revert %q, want %q", b, orig)
	}
}
