package helper

import "testing"

func TestPipeSDDL(t *testing.T) {
	got, err := pipeSDDL("S-1-5-21-1004336348-1177238915-682003330-1005")
	if err != nil {
		t.Fatal(err)
	}
	want := "O:SYG:SYD:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;S-1-5-21-1004336348-1177238915-682003330-1005)"
	if got != want {
		t.Errorf("pipeSDDL = %s\nwant        %s", got, want)
	}
	got, err = pipeSDDL("")
	if err != nil {
		t.Fatal(err)
	}
	if want := "O:SYG:SYD:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)"; got != want {
		t.Errorf("pipeSDDL without group = %s, want %s", got, want)
	}
}

func TestPipeSDDLRefusesNonSIDs(t *testing.T) {
	for _, s := range []string{
		"Dienstweg",
		"S-1-5-32-545)(A;;GA;;;WD",
		"S-1-5",
		"s-1-5-32-545",
		"S-1-5-32-545 ",
		"WD",
	} {
		if got, err := pipeSDDL(s); err == nil {
			t.Errorf("pipeSDDL(%q) = %q, want an error", s, got)
		}
	}
}

func TestWinCallerAllowedBy(t *testing.T) {
	const group = "S-1-5-21-1-2-3-1005"
	user := "S-1-5-21-1-2-3-1001"
	for _, tc := range []struct {
		name  string
		c     winCaller
		group string
		want  bool
	}{
		{"system", winCaller{User: sidLocalSystem}, group, true},
		{"elevated admin", winCaller{User: user, Groups: []string{"S-1-1-0", sidAdministrators}}, group, true},
		{"group member", winCaller{User: user, Groups: []string{"S-1-1-0", "S-1-5-32-545", group}}, group, true},
		{"plain user", winCaller{User: user, Groups: []string{"S-1-1-0", "S-1-5-32-545", "S-1-5-4"}}, group, false},
		{"no group configured", winCaller{User: user, Groups: []string{group}}, "", false},
		// A user whose SID equals the group's is not a member.
		{"user sid is not a group", winCaller{User: group}, group, false},
		{"network logon admin", winCaller{User: user, Groups: []string{sidAdministrators, sidNetwork}}, group, false},
		{"network logon member", winCaller{User: user, Groups: []string{group, sidNetwork}}, group, false},
		{"anonymous", winCaller{User: "S-1-5-7"}, group, false},
	} {
		if got := tc.c.allowedBy(tc.group); got != tc.want {
			t.Errorf("%s: allowedBy = %v, want %v", tc.name, got, tc.want)
		}
	}
}
