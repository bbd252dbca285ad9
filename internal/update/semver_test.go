package update_test

import (
	"math/big"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/update"
)

// semverRE is the regular expression semver.org 2.0 gives for a valid
// version; ParseVersion also takes a leading "v".
var semverRE = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// precedence compares two versions the regular expression accepted, as
// semver.org 2.0 §11 says, with numbers of any size: the oracle.
func precedence(a, b string) int {
	ma, mb := semverRE.FindStringSubmatch(a), semverRE.FindStringSubmatch(b)
	num := func(s string) *big.Int { n, _ := new(big.Int).SetString(s, 10); return n }
	for i := 1; i <= 3; i++ {
		if c := num(ma[i]).Cmp(num(mb[i])); c != 0 {
			return c
		}
	}
	pa, pb := ma[4], mb[4]
	switch {
	case pa == "" && pb == "":
		return 0
	case pa == "":
		return 1
	case pb == "":
		return -1
	}
	ia, ib := strings.Split(pa, "."), strings.Split(pb, ".")
	isNum := regexp.MustCompile(`^\d+$`).MatchString
	for i := 0; i < len(ia) && i < len(ib); i++ {
		x, y := ia[i], ib[i]
		var c int
		switch {
		case isNum(x) && isNum(y):
			c = num(x).Cmp(num(y))
		case isNum(x):
			c = -1
		case isNum(y):
			c = 1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case len(ia) < len(ib):
		return -1
	case len(ia) > len(ib):
		return 1
	}
	return 0
}

// coreFitsUint64 reports whether MAJOR, MINOR and PATCH fit a uint64; the
// parser refuses larger ones although the grammar allows them.
func coreFitsUint64(s string) bool {
	m := semverRE.FindStringSubmatch(s)
	for i := 1; i <= 3; i++ {
		if n, _ := new(big.Int).SetString(m[i], 10); !n.IsUint64() {
			return false
		}
	}
	return true
}

// FuzzParseVersion holds the parser to semver.org 2.0: it accepts exactly
// what the grammar accepts (but core numbers beyond uint64), prints what
// it parsed so that it parses back the same, and orders versions as §11
// says.
func FuzzParseVersion(f *testing.F) {
	for _, s := range [][2]string{
		{"0.1.0", "0.2.0"}, {"1.0.0-rc.1", "1.0.0"}, {"1.0.0-alpha", "1.0.0-1"}, {"v2.0.0", "1.99.99"},
		{"0.0.0-dev+abc1234", "0.1.0"}, {"1.0.0-01", "1.0.0-1"}, {"1.0.0+a+b", "1.0.0-x-y"},
		{"1.0.0-18446744073709551616", "1.0.0-2"}, {"18446744073709551616.0.0", "1.2.3-a.b.c+d.e"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, err := update.ParseVersion(a)
		valid := semverRE.MatchString(a)
		if (err == nil) != (valid && coreFitsUint64(a)) {
			t.Fatalf("ParseVersion(%q) = %v, %v; grammar says valid=%v", a, va, err, valid)
		}
		if err != nil {
			return
		}
		again, err := update.ParseVersion(va.String())
		if err != nil || !reflect.DeepEqual(again, va) {
			t.Fatalf("ParseVersion(%q).String() = %q parses to %#v, %v; want %#v", a, va.String(), again, err, va)
		}
		vb, err := update.ParseVersion(b)
		if err != nil {
			return
		}
		if got, want := va.Compare(vb), precedence(a, b); got != want {
			t.Fatalf("%q vs %q = %d, want %d", a, b, got, want)
		}
	})
}
