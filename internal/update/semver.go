package update

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed semantic version (semver.org 2.0): build metadata
// is kept for display but ignored in comparisons.
type Version struct {
	Major, Minor, Patch uint64
	Pre                 []string
	Build               string
}

// ParseVersion parses "1.2.3", "1.2.3-rc.1" or "1.2.3+abc"; a leading "v"
// is accepted because release tags often carry one. It accepts exactly
// semver.org 2.0's grammar, except MAJOR, MINOR and PATCH beyond uint64:
// a version is shown to people and compared, so "1.0.0-01" (which would
// equal "1.0.0-1") or text with spaces and control characters is refused.
func ParseVersion(s string) (Version, error) {
	var v Version
	in := strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(in, '+'); i >= 0 {
		v.Build = in[i+1:]
		in = in[:i]
		for _, id := range strings.Split(v.Build, ".") {
			if err := checkIdentifier(id, false); err != nil {
				return Version{}, fmt.Errorf("version %q: build metadata: %w", s, err)
			}
		}
	}
	if i := strings.IndexByte(in, '-'); i >= 0 {
		pre := in[i+1:]
		in = in[:i]
		v.Pre = strings.Split(pre, ".")
		for _, id := range v.Pre {
			if err := checkIdentifier(id, true); err != nil {
				return Version{}, fmt.Errorf("version %q: pre-release: %w", s, err)
			}
		}
	}
	parts := strings.Split(in, ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
	}
	nums := [3]*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return Version{}, fmt.Errorf("version %q: bad number %q", s, p)
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return Version{}, fmt.Errorf("version %q: bad number %q", s, p)
		}
		*nums[i] = n
	}
	return v, nil
}

// checkIdentifier checks one dot-separated identifier: non-empty, only
// [0-9A-Za-z-], and in a pre-release no leading zero in a number.
func checkIdentifier(id string, pre bool) error {
	if id == "" {
		return fmt.Errorf("empty identifier")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return fmt.Errorf("identifier %q: character %q not allowed", id, c)
		}
	}
	if pre && numeric(id) && len(id) > 1 && id[0] == '0' {
		return fmt.Errorf("identifier %q: number with a leading zero", id)
	}
	return nil
}

// numeric reports whether a (checked) identifier is a number.
func numeric(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return id != ""
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Compare returns -1, 0 or +1 by semver precedence.
func (v Version) Compare(w Version) int {
	for _, p := range [][2]uint64{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	// A release ranks above its pre-releases.
	switch {
	case len(v.Pre) == 0 && len(w.Pre) == 0:
		return 0
	case len(v.Pre) == 0:
		return 1
	case len(w.Pre) == 0:
		return -1
	}
	for i := 0; i < len(v.Pre) && i < len(w.Pre); i++ {
		if c := comparePre(v.Pre[i], w.Pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(v.Pre) < len(w.Pre):
		return -1
	case len(v.Pre) > len(w.Pre):
		return 1
	}
	return 0
}

func comparePre(a, b string) int {
	an, bn := numeric(a), numeric(b)
	switch {
	case an && bn:
		// Numbers of any size, without leading zeros: the longer is larger.
		if c := len(a) - len(b); c != 0 {
			if c < 0 {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	case an: // numeric identifiers rank below alphanumeric ones
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

// compareVersions compares two version strings; both must parse.
func compareVersions(a, b string) (int, error) {
	va, err := ParseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseVersion(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}
