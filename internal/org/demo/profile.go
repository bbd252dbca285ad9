package demo

import (
	"fmt"
	"net/url"

	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/profile"
)

// Profile is the organisation profile of the demo organisation whose
// portal is at portalURL with the CA portalCA, without a demo sign-in.
func Profile(portalURL, portalCA string) (*profile.Profile, error) {
	p := &profile.Profile{
		Organisation:  "Stadt Musterstadt",
		PortalURL:     portalURL,
		PortalCA:      portalCA,
		UpdateChannel: "stable",
		Helpdesk: profile.Helpdesk{
			Phone: "05221 123-4567",
			Hours: "Mo–Fr 7:30–16:00",
			Email: "it-service@musterstadt.example",
		},
		AccessibilityContact: &profile.AccessibilityContact{
			Name:  "Beauftragte für digitale Barrierefreiheit der Stadt Musterstadt",
			Email: "barrierefreiheit@musterstadt.example",
			Phone: "05221 123-4500",
		},
		OfficeDNSName: "intranet." + DemoSearchDomain,
		HealthTargets: []profile.HealthTarget{
			{Name: "Intranet", Kind: "https", Address: "http://intranet." + DemoSearchDomain + "/"},
		},
		// The demo's office desktop is a virtual-workplace page on the
		// demo intranet: it needs no RDP host, and "Arbeitsplatz öffnen"
		// opens it in the browser. With the helper (system tunnel) every
		// browser reaches it; without (make run as a normal user) only a
		// browser set to use Dienstweg's proxy does.
		OfficeDesktops: []profile.OfficeDesktop{
			{Name: "Virtueller Arbeitsplatz", Kind: profile.DesktopWeb, Address: "http://intranet." + DemoSearchDomain + gateway.DemoDesktopPath},
		},
		// The system tunnel where the helper is installed; without it
		// (make run, no root) the userspace one, so the demo still works.
		Tunnel: &profile.TunnelPolicy{Mode: profile.TunnelAuto},
	}
	// The demo runs on this computer: its internet is loopback, and the
	// well-known hosts the check uses by default are out of reach on a
	// machine without internet, where the demo must still say all is well.
	if u, err := url.Parse(portalURL); err == nil && u.Host != "" {
		p.InternetTargets = []string{u.Host}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("demo profile: %w", err)
	}
	return p, nil
}

// Profile is the profile a client needs for this running organisation,
// with the first demo user's sign-in for the setup wizard to show.
func (o *Org) Profile() (*profile.Profile, error) {
	p, err := Profile(o.PortalURL, o.CAPEM)
	if err != nil {
		return nil, err
	}
	if len(o.Users) > 0 {
		p.Demo = &profile.DemoLogin{User: o.Users[0].Name, ActivationCode: o.Users[0].ActivationCode}
	}
	return p, nil
}
