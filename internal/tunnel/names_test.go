package tunnel

import "testing"

func TestIsHostName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"intranet":                      true,
		"intranet.musterstadt.example.": true,
		"srv01":                         true,
		"fs_01.rathaus":                 true,
		"xn--mnchen-3ya.example":        true,
		"3com.example":                  true,
		"":                              false,
		".":                             false,
		"münchen.example":               false,
		"2130706433":                    false, // 127.0.0.1 as one number
		"010.1.1.1":                     false, // octal to some resolvers
		"10.77.0.1":                     false, // an address, not a name
		"intranet\n":                    false,
		"intranet.example..":            false,
		"a..b":                          false,
	} {
		if got := IsHostName(name); got != want {
			t.Errorf("IsHostName(%q) = %v, want %v", name, got, want)
		}
	}
}
