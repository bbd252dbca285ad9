package helper

import (
	"fmt"
	"net/netip"
	"strings"
)

// The office DNS on Windows goes into the Name Resolution Policy Table
// (NRPT): one rule sends the names under the office domains to the
// office servers, and every other name keeps the home network's DNS,
// as systemd-resolved's routing domains do on Linux. Interface DNS
// alone would not do that: Windows may ask any interface's servers for
// any name. The rule values are computed here, without a build tag, so
// they are tested on Linux; nrpt_windows.go writes them.

// nrptMaxDomainsPerRule: the DNS client ignores rules with more names
// (found by Tailscale, net/dns/nrpt_windows.go).
const nrptMaxDomainsPerRule = 50

// nrptTag is the Comment value of our rules: a start after a crash
// removes every rule carrying it, even without the state file.
const nrptTag = "Dienstweg office DNS"

// nrptRule is one rule: the registry values under its key.
type nrptRule struct {
	Key     string   // subkey name, one of nrptRuleKey's
	Names   []string // "Name": the namespaces, each with a leading dot
	Servers string   // "GenericDNSServers": "a; b"
}

// nrptRuleKey is the subkey name of our i-th rule: fixed GUIDs, so that
// the helper finds its own rules again.
func nrptRuleKey(i int) string { return fmt.Sprintf("{6d1f0c3e-5a7b-4c29-9e84-d1e57e600%03x}", i) }

// isOurNRPTKey reports whether a rule key name is one of nrptRuleKey's.
func isOurNRPTKey(name string) bool {
	return len(name) == len(nrptRuleKey(0)) && strings.EqualFold(name[:len(name)-4], nrptRuleKey(0)[:len(name)-4])
}

// nrptRules makes the rules for the office domains and servers: none
// without servers or domains.
func nrptRules(servers []netip.Addr, domains []string) []nrptRule {
	if len(servers) == 0 || len(domains) == 0 {
		return nil
	}
	ss := make([]string, len(servers))
	for i, s := range servers {
		ss[i] = s.Unmap().String()
	}
	var rules []nrptRule
	for i := 0; i < len(domains); i += nrptMaxDomainsPerRule {
		chunk := domains[i:min(i+nrptMaxDomainsPerRule, len(domains))]
		names := make([]string, len(chunk))
		for j, d := range chunk {
			// A leading dot makes the rule match the domain's names
			// (and the domain itself).
			names[j] = "." + strings.TrimSuffix(strings.TrimPrefix(d, "."), ".")
		}
		rules = append(rules, nrptRule{Key: nrptRuleKey(len(rules)), Names: names, Servers: strings.Join(ss, "; ")})
	}
	return rules
}
