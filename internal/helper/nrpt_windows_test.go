package helper

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// These tests write NRPT rules for a name that cannot exist
// (dienstweg-test.invalid) into the machine's registry, and remove them
// again; they need an administrator (or Wine, whose registry belongs to
// the user). A foreign rule is simulated by a key of another GUID.

const foreignRuleKey = "{0badc0de-0000-4000-8000-00000000d1e5}"

func testRules() []nrptRule {
	return nrptRules([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, []string{"dienstweg-test.invalid"})
}

func keyExists(t *testing.T, path string) bool {
	t.Helper()
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	k.Close()
	return true
}

// writeForeignRule makes a rule that is not ours under base and removes
// it when the test ends (and base too, if the test made it).
func writeForeignRule(t *testing.T, base string) {
	t.Helper()
	baseExisted := keyExists(t, base)
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, base+`\`+foreignRuleKey, registry.SET_VALUE)
	if err != nil {
		t.Fatalf("creating a foreign rule: %v", err)
	}
	k.SetStringsValue("Name", []string{".foreign-test.invalid"})
	k.SetStringValue("Comment", "someone else's rule")
	k.Close()
	t.Cleanup(func() {
		registry.DeleteKey(registry.LOCAL_MACHINE, base+`\`+foreignRuleKey)
		if !baseExisted {
			registry.DeleteKey(registry.LOCAL_MACHINE, base)
		}
	})
}

func TestNRPTWriteAndRemove(t *testing.T) {
	if policy, err := foreignPolicyRules(); err != nil {
		t.Fatal(err)
	} else if policy {
		t.Skip("this machine has group policy NRPT rules; the policy table is tested in TestNRPTWithPolicyRules")
	}
	rules := testRules()
	t.Cleanup(func() { removeNRPT() })
	policy, err := writeNRPT(rules)
	if err != nil {
		t.Fatal(err)
	}
	if policy {
		t.Error("wrote into the policy table without foreign policy rules")
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, nrptLocalKey+`\`+rules[0].Key, registry.QUERY_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	names, _, err := k.GetStringsValue("Name")
	if err != nil || !slices.Equal(names, []string{".dienstweg-test.invalid"}) {
		t.Errorf("Name = %v, %v", names, err)
	}
	servers, _, err := k.GetStringValue("GenericDNSServers")
	if err != nil || servers != "127.0.0.1" {
		t.Errorf("GenericDNSServers = %q, %v", servers, err)
	}
	opts, _, err := k.GetIntegerValue("ConfigOptions")
	if err != nil || opts != nrptConfigOverrideDNS {
		t.Errorf("ConfigOptions = %#x, %v", opts, err)
	}
	k.Close()

	// A rule tagged as ours under another key (left by a crash of a
	// version with other keys) goes too; someone else's rule stays.
	const taggedKey = "{0badc0de-0000-4000-8000-0000000000aa}"
	if err := writeNRPTRule(nrptLocalKey+`\`+taggedKey, rules[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { registry.DeleteKey(registry.LOCAL_MACHINE, nrptLocalKey+`\`+taggedKey) })
	writeForeignRule(t, nrptLocalKey)

	if err := removeNRPT(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{rules[0].Key, taggedKey} {
		if keyExists(t, nrptLocalKey+`\`+key) {
			t.Errorf("rule %s still there", key)
		}
	}
	if !keyExists(t, nrptLocalKey+`\`+foreignRuleKey) {
		t.Error("someone else's rule was removed")
	}
}

// With group policy rules present the DNS client reads only the policy
// table: our rule must go there too, and come out again without taking
// the policy's rules or key with it.
func TestNRPTWithPolicyRules(t *testing.T) {
	writeForeignRule(t, nrptPolicyKey)
	rules := testRules()
	t.Cleanup(func() { removeNRPT() })
	policy, err := writeNRPT(rules)
	if err != nil {
		t.Fatal(err)
	}
	if !policy {
		t.Error("foreign policy rules not noticed")
	}
	for _, base := range []string{nrptLocalKey, nrptPolicyKey} {
		if !keyExists(t, base+`\`+rules[0].Key) {
			t.Errorf("rule missing in %s", base)
		}
	}
	if err := removeNRPT(); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{nrptLocalKey, nrptPolicyKey} {
		if keyExists(t, base+`\`+rules[0].Key) {
			t.Errorf("rule still in %s", base)
		}
	}
	if !keyExists(t, nrptPolicyKey+`\`+foreignRuleKey) {
		t.Error("the policy's own rule was removed")
	}
}
