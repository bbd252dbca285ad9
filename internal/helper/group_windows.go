package helper

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// defaultWindowsGroup is the local group whose members may use the
// helper besides SYSTEM and administrators, the Windows twin of the
// Linux group "dienstweg". The service creates it when missing (as the
// .deb's postinst creates the Linux group); IT adds the employees'
// accounts, by hand or by group policy.
const defaultWindowsGroup = "Dienstweg"

// groupSID resolves the allowed group: "-" is none, a SID string is
// taken as it is, anything else is a local or domain group name. The
// default group is created when it does not exist yet.
func groupSID(name string, create bool) (string, error) {
	if name == "-" || name == "" {
		return "", nil
	}
	if validSID(name) {
		return name, nil
	}
	sid, _, typ, err := windows.LookupSID("", name)
	if err != nil && create && errors.Is(err, windows.ERROR_NONE_MAPPED) {
		if cerr := createLocalGroup(name, "Members may start and stop the Dienstweg home office connection."); cerr != nil {
			return "", fmt.Errorf("creating local group %s: %w", name, cerr)
		}
		sid, _, typ, err = windows.LookupSID("", name)
	}
	if err != nil {
		return "", fmt.Errorf("looking up group %s: %w", name, err)
	}
	switch typ {
	case windows.SidTypeGroup, windows.SidTypeAlias, windows.SidTypeWellKnownGroup:
	default:
		return "", fmt.Errorf("%s is not a group", name)
	}
	return sid.String(), nil
}

var (
	modnetapi32          = windows.NewLazySystemDLL("netapi32.dll")
	procNetLocalGroupAdd = modnetapi32.NewProc("NetLocalGroupAdd")
)

// localGroupInfo1 is LOCALGROUP_INFO_1.
type localGroupInfo1 struct {
	name    *uint16
	comment *uint16
}

const nerrGroupExists = 2223 // NERR_GroupExists

func createLocalGroup(name, comment string) error {
	if err := procNetLocalGroupAdd.Find(); err != nil {
		return err
	}
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	c, err := windows.UTF16PtrFromString(comment)
	if err != nil {
		return err
	}
	info := localGroupInfo1{name: n, comment: c}
	r, _, _ := procNetLocalGroupAdd.Call(0, 1, uintptr(unsafe.Pointer(&info)), 0)
	switch r {
	case 0, nerrGroupExists, uintptr(windows.ERROR_ALIAS_EXISTS):
		return nil
	}
	return windows.Errno(r)
}
