package tunnel

import "strings"

// IsHostName reports whether s is a DNS host name as resolvers and
// resolv.conf take it (RFC 1123, with underscores as Windows networks
// use them): at most 253 bytes, or 254 with the root's trailing dot;
// labels of 1–63 letters, digits, hyphens and underscores, not starting
// or ending with a hyphen; and a last label that is not all digits, so
// that no address in another notation (010.1.1.1, 2130706433) passes as
// a name. Address literals are not host names.
func IsHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return strings.ContainsFunc(labels[len(labels)-1], func(r rune) bool { return r < '0' || r > '9' })
}
