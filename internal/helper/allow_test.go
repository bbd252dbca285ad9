package helper

import (
	"os/user"
	"testing"
)

func TestAllowList(t *testing.T) {
	t.Parallel()
	// Debian's nobody (65534) has the primary group nogroup (65534).
	if _, err := user.LookupGroup("nogroup"); err != nil {
		t.Skipf("skipping: no group nogroup on this system: %v", err)
	}
	nobody := peer{UID: 65534, GID: 65534}
	for _, tc := range []struct {
		name string
		a    allowList
		p    peer
		want bool
	}{
		{"root_always", allowList{group: "-"}, peer{UID: 0, GID: 0}, true},
		{"stranger_refused", allowList{group: "-"}, nobody, false},
		{"listed_uid", allowList{group: "-", uids: []int{65534}}, nobody, true},
		{"group_member", allowList{group: "nogroup"}, nobody, true},
		{"member_of_other_group_refused", allowList{group: "root"}, nobody, false},
		{"missing_group_refuses", allowList{group: "dienstweg-no-such-group"}, nobody, false},
		{"primary_gid_of_process", allowList{group: "nogroup"}, peer{UID: 4242424, GID: 65534}, true},
		{"unknown_uid_refused", allowList{group: "nogroup"}, peer{UID: 4242424, GID: 4242424}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.a.allows(tc.p); got != tc.want {
				t.Errorf("allows(%+v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}
