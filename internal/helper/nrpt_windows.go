package helper

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// Where the NRPT lives. The DNS client reads the local table, but as
// soon as group policy sets NRPT rules of its own (a city's Active
// Directory may, e.g. for DirectAccess), it reads only the policy table
// and ignores the local one. So the rules always go into the local
// table, and also into the policy table when foreign rules are there
// (as Tailscale does). A policy refresh rewrites the policy table and
// may drop our copy there: the next Up writes it again, and the local
// copy takes over whenever the policy rules are gone.
const (
	nrptLocalKey  = `SYSTEM\CurrentControlSet\Services\Dnscache\Parameters\DnsPolicyConfig`
	nrptPolicyKey = `SOFTWARE\Policies\Microsoft\Windows NT\DNSClient\DnsPolicyConfig`

	nrptConfigOverrideDNS = 0x8 // ConfigOptions: use GenericDNSServers
)

// writeNRPT writes the rules and reports whether it wrote into the
// policy table too.
func writeNRPT(rules []nrptRule) (policy bool, err error) {
	policy, err = foreignPolicyRules()
	if err != nil {
		return false, err
	}
	bases := []string{nrptLocalKey}
	if policy {
		bases = append(bases, nrptPolicyKey)
	}
	for _, base := range bases {
		for _, r := range rules {
			if err := writeNRPTRule(base+`\`+r.Key, r); err != nil {
				return policy, err
			}
		}
	}
	if policy {
		refreshMachinePolicy()
	}
	flushResolverCache()
	return policy, nil
}

func writeNRPTRule(path string, r nrptRule) error {
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, path, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("creating NRPT rule %s: %w", path, err)
	}
	defer k.Close()
	for _, set := range []func() error{
		func() error { return k.SetDWordValue("Version", 1) },
		func() error { return k.SetStringsValue("Name", r.Names) },
		func() error { return k.SetStringValue("GenericDNSServers", r.Servers) },
		func() error { return k.SetDWordValue("ConfigOptions", nrptConfigOverrideDNS) },
		func() error { return k.SetStringValue("Comment", nrptTag) },
	} {
		if err := set(); err != nil {
			return fmt.Errorf("writing NRPT rule %s: %w", path, err)
		}
	}
	return nil
}

// foreignPolicyRules reports whether the policy table holds rules that
// are not ours.
func foreignPolicyRules() (bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, nrptPolicyKey, registry.READ)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the policy NRPT: %w", err)
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return false, fmt.Errorf("reading the policy NRPT: %w", err)
	}
	for _, n := range names {
		if !isOurRule(nrptPolicyKey, n) {
			return true, nil
		}
	}
	return false, nil
}

// isOurRule: one of our fixed keys, or a rule carrying our tag.
func isOurRule(base, name string) bool {
	if isOurNRPTKey(name) {
		return true
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, base+`\`+name, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	c, _, err := k.GetStringValue("Comment")
	return err == nil && c == nrptTag
}

// removeNRPT deletes our rules from both tables: the fixed keys and any
// rule tagged as ours. It leaves the policy key itself in place unless
// only we had put it there (an empty policy key would still make the DNS
// client ignore the local table).
func removeNRPT() error {
	var errs []error
	touchedPolicy := false
	for _, base := range []string{nrptLocalKey, nrptPolicyKey} {
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, base, registry.READ)
		if errors.Is(err, registry.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", base, err))
			continue
		}
		names, err := k.ReadSubKeyNames(-1)
		k.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", base, err))
			continue
		}
		for _, n := range names {
			if !isOurRule(base, n) {
				continue
			}
			if err := registry.DeleteKey(registry.LOCAL_MACHINE, base+`\`+n); err != nil && !errors.Is(err, registry.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing NRPT rule %s: %w", n, err))
				continue
			}
			if base == nrptPolicyKey {
				touchedPolicy = true
			}
		}
	}
	if touchedPolicy {
		if empty, err := keyEmpty(nrptPolicyKey); err == nil && empty {
			registry.DeleteKey(registry.LOCAL_MACHINE, nrptPolicyKey)
		}
		refreshMachinePolicy()
	}
	flushResolverCache()
	return errors.Join(errs...)
}

func keyEmpty(path string) (bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if err != nil {
		return false, err
	}
	defer k.Close()
	st, err := k.Stat()
	if err != nil {
		return false, err
	}
	return st.SubKeyCount == 0 && st.ValueCount == 0, nil
}

var (
	moduserenv            = windows.NewLazySystemDLL("userenv.dll")
	procRefreshPolicyEx   = moduserenv.NewProc("RefreshPolicyEx")
	moddnsapi             = windows.NewLazySystemDLL("dnsapi.dll")
	procDnsFlushResolverC = moddnsapi.NewProc("DnsFlushResolverCache")
)

// refreshMachinePolicy makes the DNS client read the policy table again
// (RefreshPolicyEx(TRUE, RP_FORCE)); best effort, as the next policy
// refresh does the same.
func refreshMachinePolicy() {
	if procRefreshPolicyEx.Find() == nil {
		procRefreshPolicyEx.Call(1, 1)
	}
}

// flushResolverCache drops cached answers, so office names resolve
// through the new rules at once (as `ipconfig /flushdns`); best effort.
func flushResolverCache() {
	if procDnsFlushResolverC.Find() == nil {
		procDnsFlushResolverC.Call()
	}
}

// nrptRulesSummary is for the log.
func nrptRulesSummary(rules []nrptRule) string {
	var names []string
	for _, r := range rules {
		names = append(names, r.Names...)
	}
	return strings.Join(names, " ")
}
