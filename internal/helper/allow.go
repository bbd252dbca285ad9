package helper

import (
	"os/user"
	"slices"
	"strconv"
)

// peer is the process at the other end of the socket, as the kernel
// reports it.
type peer struct {
	UID, GID, PID int
}

// allowList decides who may use the helper: root, the listed uids, and
// the members of one group (by primary or supplementary membership).
// Membership is looked up on each connection, so adding a user to the
// group takes effect without a restart.
type allowList struct {
	group string // "" or "-": none
	uids  []int
}

func (a allowList) allows(p peer) bool {
	if p.UID == 0 || slices.Contains(a.uids, p.UID) {
		return true
	}
	if a.group == "" || a.group == "-" {
		return false
	}
	g, err := user.LookupGroup(a.group)
	if err != nil {
		return false
	}
	if strconv.Itoa(p.GID) == g.Gid {
		return true
	}
	u, err := user.LookupId(strconv.Itoa(p.UID))
	if err != nil {
		return false
	}
	if u.Gid == g.Gid {
		return true
	}
	gids, err := u.GroupIds()
	if err != nil {
		return false
	}
	return slices.Contains(gids, g.Gid)
}
