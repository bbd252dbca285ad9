package policy

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// LoadSystem reads the policy IT set on this computer.
func LoadSystem() Policy { return LoadRegistry(registry.LOCAL_MACHINE, RegistryPath) }

// LoadRegistry reads the policy from root\path: one value per setting,
// named Setting.RegistryName, REG_DWORD for Bool and Number, REG_SZ for
// Choice and Text. A missing key is no policy.
func LoadRegistry(root registry.Key, path string) Policy {
	origin := rootName(root) + `\` + path
	k, err := registry.OpenKey(root, path, registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS)
	if errors.Is(err, registry.ErrNotExist) {
		return Policy{}
	}
	if err != nil {
		return Policy{Origin: origin, Problems: []string{fmt.Sprintf("%s: %v; the whole policy is ignored", origin, err)}}
	}
	defer k.Close()
	names, err := k.ReadValueNames(-1)
	if err != nil {
		return Policy{Origin: origin, Problems: []string{fmt.Sprintf("%s: %v; the whole policy is ignored", origin, err)}}
	}
	byName := map[string]Setting{}
	for _, s := range Schema {
		byName[s.RegistryName()] = s
	}
	raw := map[string]any{}
	var problems []string
	for _, name := range names {
		s, ok := byName[name]
		if !ok {
			raw[name] = nil // decode reports the unknown name
			continue
		}
		switch s.Kind {
		case Bool, Number:
			v, _, err := k.GetIntegerValue(name)
			if err != nil {
				problems = append(problems, fmt.Sprintf(`%s\%s: %v (must be REG_DWORD); ignored`, origin, name, err))
				continue
			}
			raw[s.Key] = v
		default:
			v, _, err := k.GetStringValue(name)
			if err != nil {
				problems = append(problems, fmt.Sprintf(`%s\%s: %v (must be REG_SZ); ignored`, origin, name, err))
				continue
			}
			raw[s.Key] = v
		}
	}
	p := decode(raw, origin)
	p.Problems = append(problems, p.Problems...)
	return p
}

func rootName(k registry.Key) string {
	switch k {
	case registry.LOCAL_MACHINE:
		return "HKLM"
	case registry.CURRENT_USER:
		return "HKCU"
	}
	return "HK?"
}
