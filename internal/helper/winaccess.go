package helper

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Who may use the helper on Windows. This file has no build tag: the
// pipe's security descriptor and the decision on a caller are plain
// strings, so they are tested on Linux too; the token code that fills a
// winCaller is in pipe_windows.go.

// Well-known SIDs.
const (
	sidLocalSystem    = "S-1-5-18"     // SYSTEM
	sidAdministrators = "S-1-5-32-544" // BUILTIN\Administrators
	sidNetwork        = "S-1-5-2"      // NETWORK: logged on over the network
)

// sidPattern is a SID in its string form (S-1-<authority>-<sub>...).
// Checked before a SID goes into an SDDL string, where a stray ")" or
// ";" would add an entry of its own.
var sidPattern = regexp.MustCompile(`^S-1-[0-9]+(-[0-9]+)+$`)

func validSID(s string) bool { return sidPattern.MatchString(s) }

// pipeGroupAccess is what the allowed group may do on the pipe:
// FILE_GENERIC_READ and FILE_WRITE_DATA, enough to connect, talk and
// read the pipe's owner. Not FILE_GENERIC_WRITE: it holds
// FILE_APPEND_DATA, which on a pipe is FILE_CREATE_PIPE_INSTANCE, and a
// member could then serve a rogue instance of the pipe and receive
// another user's session key.
const pipeGroupAccess = "0x12008b"

// pipeSDDL is the named pipe's security descriptor: no access over the
// network (the pipe also rejects remote clients); full access for SYSTEM
// and Administrators; connect, read and write for the allowed group
// when groupSID is not "". The DACL is protected (P), so nothing is
// inherited. ownerSystem makes SYSTEM the owner, which only SYSTEM
// itself may set (the service); the agent's dialer accepts a pipe owned
// by SYSTEM or Administrators only, which an unprivileged user cannot
// create. The kernel checks the DACL with the caller's real token when
// the pipe is opened; the helper checks the token once more
// (winCaller.allowedBy), as the Linux helper checks SO_PEERCRED behind
// the socket's mode.
func pipeSDDL(groupSID string, ownerSystem bool) (string, error) {
	var b strings.Builder
	if ownerSystem {
		b.WriteString("O:SYG:SY")
	}
	b.WriteString("D:P")
	b.WriteString("(D;;GA;;;NU)") // NU = NETWORK; deny entries come first
	b.WriteString("(A;;GA;;;SY)(A;;GA;;;BA)")
	if groupSID != "" {
		if !validSID(groupSID) {
			return "", fmt.Errorf("%q is not a SID", groupSID)
		}
		b.WriteString("(A;;" + pipeGroupAccess + ";;;" + groupSID + ")")
	}
	return b.String(), nil
}

// winCaller is the user at the other end of the pipe, read from the
// token of the client (never from what it sends): its user SID and the
// SIDs of its enabled groups. A group marked deny-only (Administrators
// in a token UAC filtered) is not listed.
type winCaller struct {
	User   string
	Groups []string
}

// allowedBy decides whether c may use the helper: SYSTEM, an elevated
// administrator, or a member of the allowed group (groupSID; "" means
// no group). A token from a network logon is refused whatever its
// groups.
func (c winCaller) allowedBy(groupSID string) bool {
	if slices.Contains(c.Groups, sidNetwork) {
		return false
	}
	if c.User == sidLocalSystem || slices.Contains(c.Groups, sidAdministrators) {
		return true
	}
	return groupSID != "" && slices.Contains(c.Groups, groupSID)
}
