package directory

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DisableLimit bounds how many users one import may disable without
// confirmation. A wrong LDAP filter that still finds a few users, or a
// CSV file cut short, would otherwise disable most of the city and
// revoke their devices. The larger of Users and Percent applies.
type DisableLimit struct {
	// Users is a number of users.
	Users int
	// Percent is a share of the active users the import manages.
	Percent float64
}

// DefaultDisableLimit lets an import disable 10 users or 5 % of the
// active users it manages, whichever is more: the leavers between two
// hourly syncs stay well below, a wrong filter far above.
var DefaultDisableLimit = DisableLimit{Users: 10, Percent: 5}

// ParseDisableLimit reads "N" (users) or "P%" (share of the active
// users the import manages).
func ParseDisableLimit(s string) (DisableLimit, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f < 0 || f > 100 || math.IsNaN(f) {
			return DisableLimit{}, fmt.Errorf("disable limit %q: want a share from 0%% to 100%%", s)
		}
		return DisableLimit{Percent: f}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return DisableLimit{}, fmt.Errorf("disable limit %q: want a number of users (N) or a share (P%%)", s)
	}
	return DisableLimit{Users: n}, nil
}

// Allowed is how many of active users may be disabled.
func (l DisableLimit) Allowed(active int) int {
	return max(l.Users, int(math.Floor(l.Percent*float64(active)/100)))
}

// String is the limit as ParseDisableLimit reads it, or both parts.
func (l DisableLimit) String() string {
	pct := strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	switch {
	case l.Percent == 0:
		return strconv.Itoa(l.Users)
	case l.Users == 0:
		return pct
	}
	return fmt.Sprintf("%d users or %s, whichever is more", l.Users, pct)
}

// TooManyDisablesError refuses a plan that would disable more users than
// its limit allows. Apply returns it and changes nothing.
type TooManyDisablesError struct {
	Source string
	// Disable users of Active would be disabled; Allowed may be.
	Disable, Active, Allowed int
	Limit                    DisableLimit
}

func (e *TooManyDisablesError) Error() string {
	return fmt.Sprintf("the %s import would disable %d of the %d active users it manages and revoke their devices; "+
		"at most %d may be disabled without confirmation (limit: %s). Nothing was changed. "+
		"Check the source (base_dn and filter, or a file cut short); if the plan is right, confirm it with --confirm-disable %d",
		e.Source, e.Disable, e.Active, e.Allowed, e.Limit, e.Disable)
}
