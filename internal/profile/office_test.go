package profile

import (
	"strings"
	"testing"
)

// office_check, auto_start and allow_start_in_office go through the strict
// parser; the check needs host:port, and its server name defaults to the
// host.
func TestOfficeSettings(t *testing.T) {
	t.Parallel()
	const base = `{"organisation":"Stadt Musterstadt","portal_url":"https://127.0.0.1:1","portal_ca":"-----BEGIN CERTIFICATE-----\n","office_dns_name":"intranet.example"`
	p, err := Parse([]byte(base + `,"office_check":{"address":"buero.musterstadt.example:443"},"auto_start":true,"allow_start_in_office":true}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p.OfficeCheck == nil || p.OfficeCheck.Name() != "buero.musterstadt.example" || !p.AutoStart || !p.AllowStartInOffice {
		t.Errorf("parsed %+v, office check %+v", p, p.OfficeCheck)
	}
	p, err = Parse([]byte(base + `,"office_check":{"address":"10.1.0.5:443","server_name":"buero.musterstadt.example"}}`))
	if err != nil || p.OfficeCheck.Name() != "buero.musterstadt.example" || p.AutoStart || p.AllowStartInOffice {
		t.Errorf("Parse = %+v, %v", p, err)
	}
	for _, bad := range []string{`"office_check":{"address":"buero.musterstadt.example"}`, `"office_check":{"address":":443"}`, `"office_check":{"Address":"10.1.0.5:443"}`} {
		if _, err := Parse([]byte(base + "," + bad + "}")); err == nil || !strings.Contains(strings.ToLower(err.Error()), "address") {
			t.Errorf("Parse(%s) = %v, want an address problem", bad, err)
		}
	}
}
