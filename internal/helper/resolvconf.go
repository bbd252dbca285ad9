package helper

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// The "file" DNS method edits resolv.conf in a way that undoes itself
// without any backup: the lines the helper adds sit between markers, and
// the original search line it replaces is kept, commented out with a
// marker. Removing the marked lines and un-commenting restores the file
// exactly, even after a reboot lost the state file, and keeps any change
// others made meanwhile.
const (
	rcBegin = "# dienstweg-helper begin: office DNS while home office runs"
	rcEnd   = "# dienstweg-helper end"
	rcHid   = "# dienstweg-helper hid: "
)

// addOfficeDNS returns orig with the office servers first (glibc asks
// servers in order and moves on when the office refuses a name outside
// its zones) and the office domains in front of the original search list.
func addOfficeDNS(orig []byte, servers []netip.Addr, domains []string) []byte {
	orig = removeOfficeDNS(orig)
	var b bytes.Buffer
	b.WriteString(rcBegin + "\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	b.WriteString(rcEnd + "\n")
	search := append([]string(nil), domains...)
	lines := strings.SplitAfter(string(orig), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		if len(f) > 0 && (f[0] == "search" || f[0] == "domain") {
			// glibc uses only the last search/domain line; hide it and
			// carry its domains over into ours.
			for _, d := range f[1:] {
				if !containsFold(search, d) {
					search = append(search, d)
				}
			}
			b.WriteString(rcHid + l)
			if !strings.HasSuffix(l, "\n") {
				b.WriteString("\n")
			}
			continue
		}
		b.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			b.WriteString("\n")
		}
	}
	if len(search) > 0 {
		b.WriteString(rcBegin + "\n")
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
		b.WriteString(rcEnd + "\n")
	}
	return b.Bytes()
}

// removeOfficeDNS undoes addOfficeDNS. It is idempotent: a file without
// markers is returned unchanged.
func removeOfficeDNS(cur []byte) []byte {
	if !bytes.Contains(cur, []byte("dienstweg-helper")) {
		return cur
	}
	var b bytes.Buffer
	in := false
	for _, l := range strings.SplitAfter(string(cur), "\n") {
		t := strings.TrimRight(l, "\r\n")
		switch {
		case t == rcBegin:
			in = true
		case t == rcEnd:
			in = false
		case in:
		case strings.HasPrefix(l, rcHid):
			b.WriteString(strings.TrimPrefix(l, rcHid))
		default:
			b.WriteString(l)
		}
	}
	return b.Bytes()
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSuffix(x, "."), strings.TrimSuffix(s, ".")) {
			return true
		}
	}
	return false
}

// editResolvConf rewrites path in place. In place, not by rename: the
// file may be a symlink another service owns, or a bind mount (as
// `ip netns exec` makes), which a rename would break.
func editResolvConf(path string, edit func([]byte) []byte) error {
	cur, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	next := edit(cur)
	if bytes.Equal(cur, next) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(next)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
