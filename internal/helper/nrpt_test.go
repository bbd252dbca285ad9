package helper

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
)

func TestNRPTRules(t *testing.T) {
	servers := []netip.Addr{netip.MustParseAddr("10.20.0.53"), netip.MustParseAddr("::ffff:10.20.0.54"), netip.MustParseAddr("fd00::53")}
	got := nrptRules(servers, []string{"stadt.example", "intern.stadt.example."})
	want := []nrptRule{{
		Key:     "{6d1f0c3e-5a7b-4c29-9e84-d1e57e600000}",
		Names:   []string{".stadt.example", ".intern.stadt.example"},
		Servers: "10.20.0.53; 10.20.0.54; fd00::53",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("nrptRules = %+v\nwant %+v", got, want)
	}
	if r := nrptRules(nil, []string{"stadt.example"}); r != nil {
		t.Errorf("rules without servers: %+v", r)
	}
	if r := nrptRules(servers, nil); r != nil {
		t.Errorf("rules without domains: %+v", r)
	}
}

func TestNRPTRulesSplitAtFifty(t *testing.T) {
	var doms []string
	for i := range 120 {
		doms = append(doms, fmt.Sprintf("d%d.example", i))
	}
	rules := nrptRules([]netip.Addr{netip.MustParseAddr("10.0.0.1")}, doms)
	if len(rules) != 3 || len(rules[0].Names) != 50 || len(rules[1].Names) != 50 || len(rules[2].Names) != 20 {
		t.Fatalf("got %d rules", len(rules))
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Key] || !isOurNRPTKey(r.Key) {
			t.Errorf("rule key %s repeated or not ours", r.Key)
		}
		seen[r.Key] = true
	}
	if rules[2].Names[19] != ".d119.example" {
		t.Errorf("last name %s", rules[2].Names[19])
	}
}

func TestIsOurNRPTKey(t *testing.T) {
	for name, want := range map[string]bool{
		"{6d1f0c3e-5a7b-4c29-9e84-d1e57e600000}": true,
		"{6D1F0C3E-5A7B-4C29-9E84-D1E57E600abc}": true,
		"{5abe529b-675b-4486-8459-25a634dacc23}": false, // Tailscale's
		"{6d1f0c3e-5a7b-4c29-9e84-d1e57e601000}": false,
		"":                                       false,
	} {
		if got := isOurNRPTKey(name); got != want {
			t.Errorf("isOurNRPTKey(%s) = %v, want %v", name, got, want)
		}
	}
}
