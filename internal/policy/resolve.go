package policy

import (
	"fmt"
	"sort"
)

// Source says where an effective value came from.
type Source string

// The sources, strongest first.
const (
	FromPolicy  Source = "policy"
	FromUser    Source = "user"
	FromProfile Source = "profile"
	FromDefault Source = "default"
)

// Values are settings by key, each already checked (Setting.Check).
type Values map[string]any

// Policy is what IT set; every value in it is locked.
type Policy struct {
	Values Values
	// Origin is where it was read: a file path or a registry key; ""
	// when there is none.
	Origin string
	// Problems are what was ignored and why (a value of the wrong type,
	// an unknown key, a file others may write), for the log and the
	// status, so IT sees a typo instead of a silently unlocked setting.
	Problems []string
}

// Effective is one setting's value as it applies.
type Effective struct {
	Key    string
	Value  any
	Source Source
	// Locked: IT set it by policy; nobody on this computer changes it.
	Locked bool
	// User: the person may change it here (Setting.User and not Locked).
	User bool
}

// Settings are all settings' effective values, in Schema order.
type Settings struct {
	List []Effective
	// Origin and Problems are the policy's.
	Origin   string
	Problems []string
}

// Resolve decides each setting: policy (locked) > user > profile >
// default. user and profile may be nil. Values that fail their
// setting's check are skipped as if absent (the loaders check them; this
// keeps a hand-made Values from putting a wrong type in force).
func Resolve(pol Policy, user, profile Values) Settings {
	out := Settings{Origin: pol.Origin, Problems: pol.Problems}
	for _, s := range Schema {
		e := Effective{Key: s.Key, Value: s.Default, Source: FromDefault}
		layers := []struct {
			vals Values
			src  Source
		}{{pol.Values, FromPolicy}, {user, FromUser}, {profile, FromProfile}}
		for _, l := range layers {
			if l.src == FromUser && !s.User {
				continue
			}
			raw, ok := l.vals[s.Key]
			if !ok {
				continue
			}
			v, err := s.Check(raw)
			if err != nil {
				continue
			}
			e.Value, e.Source = v, l.src
			break
		}
		e.Locked = e.Source == FromPolicy
		e.User = s.User && !e.Locked
		out.List = append(out.List, e)
	}
	return out
}

// Get returns the effective setting named key.
func (s Settings) Get(key string) Effective {
	for _, e := range s.List {
		if e.Key == key {
			return e
		}
	}
	panic(fmt.Sprintf("policy: no setting %q in the schema", key))
}

// Bool is a Bool setting's value.
func (s Settings) Bool(key string) bool { b, _ := s.Get(key).Value.(bool); return b }

// Int is a Number setting's value.
func (s Settings) Int(key string) int { n, _ := s.Get(key).Value.(int); return n }

// String is a Choice or Text setting's value.
func (s Settings) String(key string) string { str, _ := s.Get(key).Value.(string); return str }

// Locked lists the keys IT locked, sorted.
func (s Settings) Locked() []string {
	var keys []string
	for _, e := range s.List {
		if e.Locked {
			keys = append(keys, e.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

// decode checks raw values (from policy.json or the registry) against
// the schema: good ones go into Values, the rest into problems.
func decode(raw map[string]any, origin string) Policy {
	p := Policy{Values: Values{}, Origin: origin}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := Lookup(k)
		if !ok {
			p.Problems = append(p.Problems, fmt.Sprintf("%s: unknown setting %q, ignored", origin, k))
			continue
		}
		v, err := s.Check(raw[k])
		if err != nil {
			p.Problems = append(p.Problems, fmt.Sprintf("%s: %v; ignored", origin, err))
			continue
		}
		p.Values[k] = v
	}
	return p
}
