package policy

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzUserSetting is what PUT /v1/settings hands the agent: any JSON
// value for any setting (the local API's own fuzz test covers the body
// around it). Check never panics; what it accepts has the setting's type
// and range; and a person's accepted value survives settings.json: the
// next start reads back the same value and reports no problem.
func FuzzUserSetting(f *testing.F) {
	for i := range Schema {
		for _, v := range []string{`true`, `false`, `0`, `15`, `-1`, `120.5`, `1e400`, `9.3e18`, `-9.223372036854775808e18`,
			`"de"`, `"system"`, `"https://it.example"`, `"\u0000\ud800\udfff"`, `"` + string(rune(0x2028)) + `"`, `null`, `[]`, `{"a":[1]}`} {
			f.Add(uint8(i), []byte(v))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		s := Schema[int(which)%len(Schema)]
		var v any
		if json.Unmarshal(body, &v) != nil || v == nil {
			return // the API refuses it, or null removes the choice
		}
		got, err := s.Check(v)
		if err != nil {
			return
		}
		switch s.Kind {
		case Bool:
			if _, ok := got.(bool); !ok {
				t.Fatalf("%s: Check(%s) = %#v, not a bool", s.Key, body, got)
			}
		case Number:
			n, ok := got.(int)
			if !ok || n < s.Min || n > s.Max {
				t.Fatalf("%s: Check(%s) = %#v, not an int in [%d, %d]", s.Key, body, got, s.Min, s.Max)
			}
		case Choice:
			str, ok := got.(string)
			if !ok || !slices.Contains(s.choiceValues(), str) {
				t.Fatalf("%s: Check(%s) = %#v, not a choice", s.Key, body, got)
			}
		case Text:
			str, ok := got.(string)
			if !ok || utf8.RuneCountInString(str) > s.MaxLen || !utf8.ValidString(str) {
				t.Fatalf("%s: Check(%s) = %#v, not valid text of at most %d characters", s.Key, body, got, s.MaxLen)
			}
		}
		if !s.User {
			return
		}
		dir := t.TempDir()
		u, _, err := OpenUserStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Set(s.Key, got); err != nil {
			t.Fatalf("%s: Set(%#v): %v", s.Key, got, err)
		}
		back, problems, err := OpenUserStore(dir)
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s: reading back %#v: %v %q", s.Key, got, err, problems)
		}
		if again := back.Values()[s.Key]; again != got {
			t.Fatalf("%s: stored %#v, read back %#v", s.Key, got, again)
		}
	})
}
