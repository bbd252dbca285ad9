package announce

import (
	"strings"

	"github.com/dienstweg/dienstweg/internal/portal"
)

// Parts of the connection an announcement can cover. They are the links
// of the health chain in PRODUCT.md; a configured office service is
// "service:NAME" and is also covered by ComponentServices.
const (
	ComponentLocalNetwork = "local_network"
	ComponentInternet     = "internet"
	ComponentPortal       = "portal"
	ComponentGateway      = "gateway"
	ComponentDNS          = "dns"
	ComponentServices     = "services"
)

// coversOf is what an announcement says it covers. The portal API has no
// field for it yet (proposed: "covers": ["gateway", "service:fachverfahren"]);
// until then every announcement covers the default set, see covers.
func coversOf(portal.Announcement) []string { return nil }

// covers reports whether an announcement naming list covers component. An
// empty list covers everything on the organisation's side, but never the
// employee's own network or internet: an outage at the office does not
// explain a broken home router.
func covers(list []string, component string) bool {
	if len(list) == 0 {
		return component != ComponentLocalNetwork && component != ComponentInternet && component != ""
	}
	for _, c := range list {
		if c == component || (c == ComponentServices && strings.HasPrefix(component, "service:")) {
			return true
		}
	}
	return false
}
