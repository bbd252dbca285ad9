package health

import "github.com/dienstweg/dienstweg/internal/state"

// FirstFailure is the first link of a published chain that was checked
// and failed, so the one who reads a snapshot (the situation's verdict)
// needs no rules of the chain's own. ok is false when every checked link
// works.
func FirstFailure(links []state.Link) (c Check, ok bool) {
	for _, l := range links {
		if l.OK || l.Skipped {
			continue
		}
		if c, ok := Lookup(l.Code); ok {
			return c, true
		}
	}
	return Check{}, false
}

// Offline reports whether a check's failure means the laptop itself has
// no internet (no network, no internet, a captive portal's login page).
func (c Check) Offline() bool { return c.Severity == SeverityNoInternet }
