package store

import (
	"slices"
	"testing"
)

// FuzzUnmarshalList: groups and audiences are JSON lists in database rows
// that an admin (or an attacker with the file) may have edited. Reading
// them must never panic, anything unreadable is an empty list (fail
// closed: no group, nobody in the audience), and what is read writes
// back the same.
func FuzzUnmarshalList(f *testing.F) {
	for _, s := range []string{`[]`, `["all"]`, `["bauamt","it"]`, `null`, `"all"`, `[1]`, `["a",null]`, `[`, ``, "[\"\\ud800\"]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := unmarshalList(s)
		again := unmarshalList(marshalList(l))
		if len(l) == 0 && len(again) == 0 {
			return
		}
		if !slices.Equal(l, again) {
			t.Fatalf("unmarshalList(%q) = %q, written back and read %q", s, l, again)
		}
	})
}
