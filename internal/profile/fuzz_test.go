package profile

import (
	"encoding/json"
	"net"
	"net/url"
	"strings"
	"testing"
)

// validProfile is a whole profile as IT writes it.
const validProfile = `{
  "organisation": "Stadt Musterstadt",
  "portal_url": "https://portal.musterstadt.example/",
  "portal_ca": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  "update_keys": ["RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3"],
  "update_channel": "stable",
  "helpdesk": {"phone": "05221 123-4567", "hours": "Mo–Fr 7:30–16:00", "email": "it@musterstadt.example"},
  "health_targets": [
    {"name": "Intranet", "kind": "https", "address": "http://intranet.musterstadt.example/"},
    {"name": "Akten", "kind": "tcp", "address": "10.77.1.20:445"}
  ],
  "office_dns_name": "intranet.musterstadt.example",
  "captive_probe_url": "http://probe.musterstadt.example/204",
  "internet_targets": ["check.example:80", "[2001:db8::1]:443"],
  "default_language": "de"
}`

// FuzzParse feeds profile.Parse what a hand-edited or tampered profile
// may hold. What it accepts must be what the rest of the program can
// use: one JSON object, a portal URL with a host, health targets and
// internet targets a dialer or HTTP client takes, and the same profile
// again after a round trip.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validProfile))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"organisation":"X","portal_url":"https://p","portal_ca":"BEGIN CERTIFICATE","office_dns_name":"i"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted a profile that is not one JSON value: %q", data)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted what Validate rejects: %v", err)
		}
		u, err := url.Parse(p.PortalURL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" {
			t.Fatalf("accepted portal_url %q without a host", p.PortalURL)
		}
		for _, ht := range p.HealthTargets {
			switch ht.Kind {
			case "tcp":
				if host, _, err := net.SplitHostPort(ht.Address); err != nil || host == "" {
					t.Fatalf("accepted tcp health target %q", ht.Address)
				}
			default:
				if u, err := url.Parse(ht.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
					t.Fatalf("accepted %s health target %q", ht.Kind, ht.Address)
				}
			}
		}
		if p.CaptiveProbeURL != "" {
			if u, err := url.Parse(p.CaptiveProbeURL); err != nil || u.Hostname() == "" {
				t.Fatalf("accepted captive_probe_url %q without a host", p.CaptiveProbeURL)
			}
		}
		for _, it := range p.InternetTargets {
			if host, _, err := net.SplitHostPort(it); err != nil || host == "" || strings.ContainsAny(host, "/ ") {
				t.Fatalf("accepted internet target %q", it)
			}
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		q, err := Parse(again)
		if err != nil {
			t.Fatalf("the accepted profile does not parse again: %v\n%s", err, again)
		}
		// Compared as JSON: an empty list and none are the same profile.
		if back, _ := json.Marshal(q); string(back) != string(again) {
			t.Fatalf("round trip changed the profile:\n%s\n%s", again, back)
		}
		// Every key is spelled as documented, once: what the client reads
		// is what a person or a tool reading the file sees.
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(data, &keys); err != nil {
			t.Fatalf("accepted profile is not an object: %v", err)
		}
		for k := range keys {
			if !fieldNames[k] {
				t.Fatalf("accepted key %q", k)
			}
		}
	})
}
