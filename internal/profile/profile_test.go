package profile

import (
	"strings"
	"testing"
)

func TestValidateHealthTargetKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, kind string
		ok         bool
	}{
		{"tcp", "tcp", true},
		{"https", "https", true},
		{"http", "http", true},
		{"ping_is_unknown", "ping", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &Profile{
				Organisation:  "Stadt Musterstadt",
				PortalURL:     "https://portal.example",
				PortalCA:      "-----BEGIN CERTIFICATE-----\n",
				OfficeDNSName: "intranet.example",
				HealthTargets: []HealthTarget{{Name: "Intranet", Kind: tc.kind, Address: "http://intranet.example/"}},
			}
			if tc.kind == "tcp" {
				p.HealthTargets[0].Address = "intranet.example:80"
			}
			err := p.Validate()
			if tc.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "health_targets[0]")) {
				t.Fatalf("Validate = %v, want a health_targets[0] problem", err)
			}
		})
	}
}

// The demo section round-trips through the strict parser and must be
// complete: a wizard showing an empty activation code helps nobody.
func TestDemoSection(t *testing.T) {
	t.Parallel()
	const base = `{"organisation":"Stadt Musterstadt","portal_url":"https://127.0.0.1:1","portal_ca":"-----BEGIN CERTIFICATE-----\n","office_dns_name":"intranet.example"`
	p, err := Parse([]byte(base + `,"demo":{"user":"anna.schmidt","activation_code":"K7P2-QX9M-ABCD"}}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p.Demo == nil || p.Demo.User != "anna.schmidt" || p.Demo.ActivationCode != "K7P2-QX9M-ABCD" {
		t.Errorf("Demo = %+v", p.Demo)
	}
	if p, err := Parse([]byte(base + `}`)); err != nil || p.Demo != nil {
		t.Errorf("profile without demo section: Demo = %+v, %v", p, err)
	}
	if _, err := Parse([]byte(base + `,"demo":{"user":"anna.schmidt"}}`)); err == nil || !strings.Contains(err.Error(), "activation_code") {
		t.Errorf("demo section without a code: %v, want an activation_code problem", err)
	}
}

func TestProfileNeedsAnOfficeName(t *testing.T) {
	t.Parallel()
	p := &Profile{Organisation: "Stadt Musterstadt", PortalURL: "https://portal.example", PortalCA: "-----BEGIN CERTIFICATE-----\n"}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "office_dns_name") {
		t.Errorf("Validate without office_dns_name = %v", err)
	}
}

func TestCaptiveProbeURLMustBePlainHTTP(t *testing.T) {
	t.Parallel()
	for url, ok := range map[string]bool{
		"":                             true,
		"http://neverssl.example/204":  true,
		"https://portal.example/204":   false,
		"captive.example/generate_204": false,
	} {
		p := &Profile{Organisation: "Stadt Musterstadt", PortalURL: "https://portal.example", PortalCA: "-----BEGIN CERTIFICATE-----\n",
			OfficeDNSName: "intranet.example", CaptiveProbeURL: url}
		err := p.Validate()
		if ok != (err == nil) {
			t.Errorf("captive_probe_url %q: Validate = %v", url, err)
		}
	}
}

func TestInternetTargetsMustBeHostPort(t *testing.T) {
	t.Parallel()
	for target, ok := range map[string]bool{
		"detectportal.example:80": true,
		"192.0.2.1:443":           true,
		"[2001:db8::1]:443":       true,
		"detectportal.example":    false,
		":80":                     false,
		"host:0":                  false,
		"host:70000":              false,
		"host:http":               false,
	} {
		p := &Profile{Organisation: "Stadt Musterstadt", PortalURL: "https://portal.example", PortalCA: "-----BEGIN CERTIFICATE-----\n",
			OfficeDNSName: "intranet.example", InternetTargets: []string{target}}
		err := p.Validate()
		if ok != (err == nil) {
			t.Errorf("internet_targets %q: Validate = %v", target, err)
		}
	}
}

// What encoding/json lets through and a profile must not: another case,
// a key given twice (the last would win), data after the object.
func TestParseIsStrictAboutKeys(t *testing.T) {
	t.Parallel()
	base := `"organisation":"Stadt Musterstadt","portal_url":"https://portal.example","portal_ca":"-----BEGIN CERTIFICATE-----","office_dns_name":"intranet.example"`
	if _, err := Parse([]byte("{" + base + "}")); err != nil {
		t.Fatalf("the base profile: %v", err)
	}
	for name, data := range map[string]string{
		"other_case":       `{` + base + `,"Captive_Probe_URL":"http://probe.example/"}`,
		"twice":            `{` + base + `,"portal_url":"https://elsewhere.example"}`,
		"twice_nested":     `{` + base + `,"helpdesk":{"phone":"1","phone":"2"}}`,
		"other_case_list":  `{` + base + `,"health_targets":[{"Name":"A","kind":"tcp","address":"a:1"}]}`,
		"trailing_object":  `{` + base + `}{}`,
		"trailing_garbage": `{` + base + `} x`,
		"no_portal_host":   `{"organisation":"X","portal_url":"https:","portal_ca":"-----BEGIN CERTIFICATE-----","office_dns_name":"i"}`,
	} {
		if _, err := Parse([]byte(data)); err == nil {
			t.Errorf("%s: Parse accepted %s", name, data)
		}
	}
}

func TestHealthTargetAddressesMustBeUsable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		target HealthTarget
		ok     bool
	}{
		{HealthTarget{Name: "Akten", Kind: "tcp", Address: "10.77.1.20:445"}, true},
		{HealthTarget{Name: "Intranet", Kind: "https", Address: "http://intranet.example/"}, true},
		{HealthTarget{Name: "Akten", Kind: "tcp", Address: ""}, false},
		{HealthTarget{Name: "Akten", Kind: "tcp", Address: "10.77.1.20"}, false},
		{HealthTarget{Name: "Intranet", Kind: "http", Address: "intranet.example"}, false},
		{HealthTarget{Name: "Intranet", Kind: "https", Address: "ftp://intranet.example/"}, false},
		{HealthTarget{Name: "", Kind: "tcp", Address: "10.77.1.20:445"}, false},
	} {
		p := &Profile{Organisation: "Stadt Musterstadt", PortalURL: "https://portal.example", PortalCA: "-----BEGIN CERTIFICATE-----\n",
			OfficeDNSName: "intranet.example", HealthTargets: []HealthTarget{tc.target}}
		if err := p.Validate(); tc.ok != (err == nil) {
			t.Errorf("%+v: Validate = %v", tc.target, err)
		}
	}
}

// The accessibility statement's contact is optional, and complete when
// given: a report of a barrier must reach someone.
func TestAccessibilityContact(t *testing.T) {
	t.Parallel()
	const base = `{"organisation":"Stadt Musterstadt","portal_url":"https://127.0.0.1:1","portal_ca":"-----BEGIN CERTIFICATE-----\n","office_dns_name":"intranet.example"`
	p, err := Parse([]byte(base + `,"accessibility_contact":{"name":"Beauftragte für digitale Barrierefreiheit","email":"barrierefreiheit@musterstadt.example","phone":"05221 123-4500"}}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c := p.AccessibilityContact; c == nil || c.Email != "barrierefreiheit@musterstadt.example" || c.Phone != "05221 123-4500" {
		t.Errorf("AccessibilityContact = %+v", c)
	}
	for _, bad := range []string{
		`{"name":"Barrierefreiheit","email":"barrierefreiheit"}`,
		`{"name":"Barrierefreiheit","email":"Büro <b@musterstadt.example>"}`,
		`{"name":"","email":"b@musterstadt.example"}`,
	} {
		if _, err := Parse([]byte(base + `,"accessibility_contact":` + bad + `}`)); err == nil || !strings.Contains(err.Error(), "accessibility_contact") {
			t.Errorf("accessibility_contact %s: %v, want it refused", bad, err)
		}
	}
	if _, err := Parse([]byte(base + `,"accessibility_contact":{"name":"B","Email":"b@musterstadt.example"}}`)); err == nil {
		t.Error("a key in another case was accepted")
	}
}

// The tunnel mode: the system tunnel unless the profile allows the
// userspace one, and a typo is refused rather than read as the default.
func TestTunnelMode(t *testing.T) {
	t.Parallel()
	const base = `{"organisation":"Stadt Musterstadt","portal_url":"https://127.0.0.1:1","portal_ca":"-----BEGIN CERTIFICATE-----\n","office_dns_name":"intranet.example"`
	for _, tc := range []struct{ extra, want, wantErr string }{
		{extra: ``, want: TunnelSystem},
		{extra: `,"tunnel":{}`, wantErr: `tunnel.mode ""`},
		{extra: `,"tunnel":{"mode":"system"}`, want: TunnelSystem},
		{extra: `,"tunnel":{"mode":"auto"}`, want: TunnelAuto},
		{extra: `,"tunnel":{"mode":"userspace"}`, want: TunnelUserspace},
		{extra: `,"tunnel":{"mode":"socks"}`, wantErr: `tunnel.mode "socks"`},
		{extra: `,"tunnel":{"mode":"System"}`, wantErr: `tunnel.mode "System"`},
		{extra: `,"tunnel":{"Mode":"auto"}`, wantErr: `malformed`},
	} {
		p, err := Parse([]byte(base + tc.extra + `}`))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: Parse = %v, want an error saying %s", tc.extra, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.extra, err)
			continue
		}
		if got := p.TunnelMode(); got != tc.want {
			t.Errorf("%s: TunnelMode = %q, want %q", tc.extra, got, tc.want)
		}
	}
}
