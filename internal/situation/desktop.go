package situation

import (
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/state"
)

// openableDesktops are the office desktops that "Arbeitsplatz öffnen"
// offers in a running session (issue 20): those whose health link was
// checked in this session and answers. A desktop that does not answer,
// or answers and then stalls on large packets, is not offered — its
// link in the chain says why — so the button never opens a client that
// can only hang. Connecting and Problem offer none: the tunnel itself
// is not known to work.
func openableDesktops(s state.Snapshot) []string {
	if s.Session != state.Connected && s.Session != state.Limited {
		return nil
	}
	var names []string
	for _, l := range s.Health.Links {
		if l.Code == health.OfficeDesktop && l.OK && !l.Skipped {
			names = append(names, l.Target)
		}
	}
	return names
}
