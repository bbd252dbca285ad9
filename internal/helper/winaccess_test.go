package helper

import (
	"fmt"
	"testing"
)

func TestPipeSDDL(t *testing.T) {
	got, err := pipeSDDL("S-1-5-21-1004336348-1177238915-682003330-1005", true)
	if err != nil {
		t.Fatal(err)
	}
	want := "O:SYG:SYD:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12008b;;;S-1-5-21-1004336348-1177238915-682003330-1005)"
	if got != want {
		t.Errorf("pipeSDDL = %s\nwant        %s", got, want)
	}
	got, err = pipeSDDL("", false)
	if err != nil {
		t.Fatal(err)
	}
	if want := "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)"; got != want {
		t.Errorf("pipeSDDL without group = %s, want %s", got, want)
	}
}

// The group may connect, read and write, but not create pipe instances
// (FILE_APPEND_DATA = FILE_CREATE_PIPE_INSTANCE, 0x4), which would let a
// member serve a rogue instance.
func TestPipeGroupAccessCannotCreateInstances(t *testing.T) {
	var mask uint32
	if _, err := fmt.Sscanf(pipeGroupAccess, "0x%x", &mask); err != nil {
		t.Fatal(err)
	}
	const (
		fileReadData         = 0x1
		fileWriteData        = 0x2
		fileCreatePipeInst   = 0x4
		readControl          = 0x20000
		synchronize          = 0x100000
		writeDAC, writeOwner = 0x40000, 0x80000
	)
	if mask&fileCreatePipeInst != 0 || mask&(writeDAC|writeOwner) != 0 {
		t.Errorf("group access %#x allows creating instances or changing the ACL", mask)
	}
	for _, need := range []uint32{fileReadData, fileWriteData, readControl, synchronize} {
		if mask&need == 0 {
			t.Errorf("group access %#x lacks %#x", mask, need)
		}
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
		if got, err := pipeSDDL(s, true); err == nil {
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
