package announce

import (
	"strings"

	"github.com/dienstweg/dienstweg/internal/portal"
)

// Parts of the connection an announcement can cover: the link codes of
// the health chain (state.Link.Code, translation keys health.link.*). A
// single office service may be named "office_services:NAME"; it is also
// covered by ComponentServices.
const (
	ComponentLocalNetwork  = "local_network"
	ComponentInternet      = "internet"
	ComponentCaptivePortal = "captive_portal"
	ComponentPortal        = "portal"
	ComponentGateway       = "gateway"
	ComponentDNS           = "office_dns"
	ComponentServices      = "office_services"
)

// coversOf is what an announcement says it covers. The portal API has no
// field for it yet (proposed: "covers": ["gateway", "office_services:Fachverfahren"]);
// until then every announcement covers the default set, see covers.
func coversOf(portal.Announcement) []string { return nil }

// covers reports whether an announcement naming list covers component. An
// empty list covers everything on the organisation's side, but never the
// employee's own network, internet or hotel login page: an outage at the
// office does not explain a broken home router.
func covers(list []string, component string) bool {
	if len(list) == 0 {
		switch component {
		case "", ComponentLocalNetwork, ComponentInternet, ComponentCaptivePortal:
			return false
		}
		return true
	}
	for _, c := range list {
		if c == component || (c == ComponentServices && strings.HasPrefix(component, ComponentServices+":")) {
			return true
		}
	}
	return false
}
