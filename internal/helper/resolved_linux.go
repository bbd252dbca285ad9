package helper

import (
	"errors"
	"net/netip"

	"github.com/godbus/dbus/v5"
)

// systemd-resolved over D-Bus: per-link DNS servers and domains, the way
// NetworkManager and wg-quick (resolvconf shim) set them. Untested in CI:
// its machines run no systemd-resolved (see docs/helper.md).

const (
	resolvedName = "org.freedesktop.resolve1"
	resolvedPath = "/org/freedesktop/resolve1"
	resolvedMgr  = "org.freedesktop.resolve1.Manager."
)

var errNoResolved = errors.New("systemd-resolved is not running")

// resolvedRunning reports whether systemd-resolved owns its name on the
// system bus.
func resolvedRunning() bool {
	c, err := dbus.ConnectSystemBus()
	if err != nil {
		return false
	}
	defer c.Close()
	var has bool
	if err := c.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, resolvedName).Store(&has); err != nil {
		return false
	}
	return has
}

func resolvedCall(method string, args ...any) error {
	c, err := dbus.ConnectSystemBus()
	if err != nil {
		return errors.Join(errNoResolved, err)
	}
	defer c.Close()
	return c.Object(resolvedName, resolvedPath).Call(resolvedMgr+method, 0, args...).Err
}

type resolvedAddr struct {
	Family  int32
	Address []byte
}

type resolvedDomain struct {
	Domain      string
	RoutingOnly bool
}

// resolvedSetLink gives the link the office servers and domains. The
// domains are search domains too, so short names work; the link is not
// the default route, so only office names go to the office.
func resolvedSetLink(ifindex int, servers []netip.Addr, domains []string) error {
	addrs := make([]resolvedAddr, 0, len(servers))
	for _, s := range servers {
		fam := int32(2) // AF_INET
		if s.Is6() && !s.Is4In6() {
			fam = 10 // AF_INET6
		}
		addrs = append(addrs, resolvedAddr{Family: fam, Address: s.Unmap().AsSlice()})
	}
	doms := make([]resolvedDomain, 0, len(domains))
	for _, d := range domains {
		doms = append(doms, resolvedDomain{Domain: d})
	}
	if err := resolvedCall("SetLinkDNS", int32(ifindex), addrs); err != nil {
		return err
	}
	if err := resolvedCall("SetLinkDomains", int32(ifindex), doms); err != nil {
		return err
	}
	// Older resolved versions lack it; without it the link may also get
	// general queries, which the office DNS refuses.
	resolvedCall("SetLinkDefaultRoute", int32(ifindex), false)
	return nil
}

func resolvedRevertLink(ifindex int) error {
	if ifindex == 0 {
		return nil
	}
	err := resolvedCall("RevertLink", int32(ifindex))
	var de dbus.Error
	if errors.As(err, &de) && (de.Name == "org.freedesktop.resolve1.NoSuchLink" || de.Name == "org.freedesktop.DBus.Error.ServiceUnknown") {
		return nil // the link, or resolved, is gone: nothing to revert
	}
	return err
}
