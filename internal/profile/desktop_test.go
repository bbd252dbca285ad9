package profile

import (
	"strings"
	"testing"
)

func TestOfficeDesktops(t *testing.T) {
	t.Parallel()
	fp := strings.Repeat("0A:", 31) + "0A"
	for _, tc := range []struct {
		name     string
		d        OfficeDesktop
		ok       bool
		hostPort string
	}{
		{"rdp_host", OfficeDesktop{Name: "A", Kind: DesktopRDP, Address: "rds.example"}, true, "rds.example:3389"},
		{"rdp_host_port", OfficeDesktop{Name: "A", Kind: DesktopRDP, Address: "10.77.1.2:3390"}, true, "10.77.1.2:3390"},
		{"rdp_ipv6", OfficeDesktop{Name: "A", Kind: DesktopRDP, Address: "fd00::2"}, true, "[fd00::2]:3389"},
		{"rdp_fingerprint", OfficeDesktop{Name: "A", Kind: DesktopRDP, Address: "rds.example", CertSHA256: fp}, true, "rds.example:3389"},
		{"rdp_short_fingerprint", OfficeDesktop{Name: "A", Kind: DesktopRDP, Address: "rds.example", CertSHA256: "ab:cd"}, false, ""},
		{"rdp_url_is_not_a_host", OfficeDesktop{Name: "A", Kind: DesktopRDP, Address: "rdp://rds.example"}, false, ""},
		{"rdp_option_smuggled", OfficeDesktop{Name: "A", Kind: DesktopRDP, Address: "rds.example /p:x"}, false, ""},
		{"web_https", OfficeDesktop{Name: "A", Kind: DesktopWeb, Address: "https://vdi.example/start"}, true, "vdi.example:443"},
		{"web_http_port", OfficeDesktop{Name: "A", Kind: DesktopWeb, Address: "http://intranet.example:8080/"}, true, "intranet.example:8080"},
		{"web_not_url", OfficeDesktop{Name: "A", Kind: DesktopWeb, Address: "vdi.example"}, false, ""},
		{"web_fingerprint", OfficeDesktop{Name: "A", Kind: DesktopWeb, Address: "https://vdi.example/", CertSHA256: fp}, false, ""},
		{"unknown_kind", OfficeDesktop{Name: "A", Kind: "vnc", Address: "x.example"}, false, ""},
		{"no_name", OfficeDesktop{Kind: DesktopRDP, Address: "rds.example"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			problems := validateDesktops([]OfficeDesktop{tc.d})
			if tc.ok != (len(problems) == 0) {
				t.Fatalf("problems = %q, want ok %v", problems, tc.ok)
			}
			if tc.ok && tc.d.HostPort() != tc.hostPort {
				t.Errorf("HostPort = %q, want %q", tc.d.HostPort(), tc.hostPort)
			}
		})
	}
	if p := validateDesktops([]OfficeDesktop{{Name: "A", Kind: DesktopRDP, Address: "a.example"}, {Name: "A", Kind: DesktopRDP, Address: "b.example"}}); len(p) != 1 {
		t.Errorf("a name given twice: %q", p)
	}
}

// The profile's strict parser knows the new keys.
func TestOfficeDesktopsParse(t *testing.T) {
	t.Parallel()
	js := `{"organisation":"Stadt Musterstadt","portal_url":"https://portal.example","portal_ca":"-----BEGIN CERTIFICATE-----\n",
	"office_dns_name":"intranet.example","helpdesk":{"phone":"1"},
	"office_desktops":[{"name":"Arbeitsplatz","kind":"rdp","address":"rds.example","cert_sha256":"` + strings.Repeat("ab", 32) + `"}]}`
	p, err := Parse([]byte(js))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if d, ok := p.Desktop("Arbeitsplatz"); !ok || d.Fingerprint() != strings.Repeat("ab", 32) {
		t.Errorf("Desktop = %+v, %v", d, ok)
	}
}
