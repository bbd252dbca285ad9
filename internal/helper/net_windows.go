package helper

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wintun"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"

	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// adapterGUID is the wintun adapter's fixed GUID: Windows keeps its
// settings (firewall profile, network name) across sessions instead of
// counting up "Dienstweg 2", "Dienstweg 3", and a new adapter replaces a
// leftover one of ours.
var adapterGUID = windows.GUID{Data1: 0x6d1f0c3e, Data2: 0x5a7b, Data3: 0x4c29, Data4: [8]byte{0x9e, 0x84, 0xd1, 0xe5, 0x7e, 0x60, 0x0a, 0xda}}

func init() {
	// wintun's tunnel type names the adapter's kind in Device Manager;
	// wireguard-go sets "WireGuard".
	tun.WintunTunnelType = "Dienstweg"
}

// create makes the adapter, address, routes and DNS, recording each
// before it is made. On error the caller undoes what h.st lists.
func (h *winServer) create(cfg tunnel.Config, plan tunnel.Plan, uapi string) (*tunnelSession, error) {
	name := h.opts.Interface
	if err := h.record(func(c *winState) { c.Interface = name }); err != nil {
		return nil, err
	}
	mtu := plan.MTU
	guid := adapterGUID
	tdev, err := tun.CreateTUNWithRequestedGUID(name, &guid, mtu)
	if err != nil {
		return nil, fmt.Errorf("creating the wintun adapter %s (is wintun.dll beside the program?): %w", name, err)
	}
	nt, ok := tdev.(*tun.NativeTun)
	if !ok {
		tdev.Close()
		return nil, fmt.Errorf("unexpected tun device %T", tdev)
	}
	luid := winipcfg.LUID(nt.LUID())
	s := &tunnelSession{cfg: cfg, plan: plan, name: name}
	s.dev = device.NewDevice(tdev, conn.NewDefaultBind(), tunnel.WireGuardLogger(h.log))
	// From here the session owns the adapter: undo closes it, and
	// wintun deletes it with its address, routes and interface DNS.
	h.sess = s
	if err := h.record(func(c *winState) { c.LUID = uint64(luid) }); err != nil {
		return nil, err
	}
	if err := s.dev.IpcSet(uapi); err != nil {
		return nil, fmt.Errorf("configuring tunnel: %w", err)
	}
	if err := s.dev.Up(); err != nil {
		return nil, fmt.Errorf("tunnel up: %w", err)
	}
	if err := setInterface(luid, plan.Address.Addr(), mtu); err != nil {
		return nil, err
	}
	if err := luid.SetIPAddresses([]netip.Prefix{plan.Address}); err != nil {
		return nil, fmt.Errorf("setting address %s on %s: %w", plan.Address, name, err)
	}
	for _, p := range plan.Routes {
		if err := h.record(func(c *winState) { c.Routes = append(c.Routes, p) }); err != nil {
			return nil, err
		}
		if other, err := routedElsewhere(luid, p); err != nil {
			return nil, err
		} else if other {
			// As on Linux: the home network (or another VPN) uses the
			// office's addresses; which one wins would be luck.
			return nil, badRequest{fmt.Errorf("the office network %s is already routed on this computer (does the home network use the same addresses?)", p)}
		}
		if err := luid.AddRoute(p, onLink(p), 0); err != nil {
			if errors.Is(err, windows.ERROR_OBJECT_ALREADY_EXISTS) {
				return nil, badRequest{fmt.Errorf("the office network %s is routed twice", p)}
			}
			return nil, fmt.Errorf("adding route %s: %w", p, err)
		}
	}
	if !plan.DNS.Empty() && h.opts.DNS != DNSOff {
		method, err := h.setDNS(luid, plan.DNS)
		if err != nil {
			return nil, err
		}
		s.dns = method
	}
	return s, nil
}

// setInterface sets the MTU of the address's family and switches off
// duplicate address detection, which would hold the address back for
// seconds on a point-to-point link where no duplicate can exist.
func setInterface(luid winipcfg.LUID, addr netip.Addr, mtu int) error {
	family := winipcfg.AddressFamily(windows.AF_INET)
	if addr.Is6() {
		family = windows.AF_INET6
	}
	row, err := luid.IPInterface(family)
	if err != nil {
		return fmt.Errorf("reading the adapter's IP settings: %w", err)
	}
	row.NLMTU = uint32(mtu)
	row.DadTransmits = 0
	row.RouterDiscoveryBehavior = winipcfg.RouterDiscoveryDisabled
	// SitePrefixLength must be 0 for IPv4 or Set fails.
	if family == windows.AF_INET {
		row.SitePrefixLength = 0
	}
	if err := row.Set(); err != nil {
		return fmt.Errorf("setting the adapter's MTU: %w", err)
	}
	return nil
}

// routedElsewhere reports whether another interface has a route to
// exactly p.
func routedElsewhere(luid winipcfg.LUID, p netip.Prefix) (bool, error) {
	family := winipcfg.AddressFamily(windows.AF_INET)
	if p.Addr().Is6() {
		family = windows.AF_INET6
	}
	rows, err := winipcfg.GetIPForwardTable2(family)
	if err != nil {
		return false, fmt.Errorf("reading the routing table: %w", err)
	}
	for i := range rows {
		if rows[i].InterfaceLUID != luid && rows[i].DestinationPrefix.Prefix() == p {
			return true, nil
		}
	}
	return false, nil
}

// onLink is the next hop of a route straight into the adapter.
func onLink(p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// setDNS sends the office domains to the office servers through NRPT
// rules and makes the domains the adapter's search list, so short names
// work. Without domains the servers become the adapter's DNS servers:
// then Windows decides which names go there.
func (h *winServer) setDNS(luid winipcfg.LUID, dns tunnel.DNSPlan) (string, error) {
	rules := nrptRules(dns.Servers, dns.Domains)
	if len(rules) == 0 {
		if err := setInterfaceDNS(luid, dns.Servers, nil); err != nil {
			return "", err
		}
		return "interface", nil
	}
	if err := h.record(func(c *winState) { c.NRPT = true }); err != nil {
		return "", err
	}
	policy, err := writeNRPT(rules)
	if err != nil {
		return "", fmt.Errorf("setting office DNS: %w", err)
	}
	if policy {
		h.log.Warn("group policy sets NRPT rules of its own; the office DNS rule was written into the policy table too, and a policy refresh may drop it until the next connect", "domains", nrptRulesSummary(rules))
	}
	if err := setInterfaceDNS(luid, nil, dns.Domains); err != nil {
		return "", err
	}
	return DNSNRPT, nil
}

// setInterfaceDNS sets the adapter's servers and search list for IPv4,
// and for IPv6 only when an IPv6 server is given (SetDNS filters the
// servers by family; the search list holds for the adapter).
func setInterfaceDNS(luid winipcfg.LUID, servers []netip.Addr, domains []string) error {
	families := []winipcfg.AddressFamily{windows.AF_INET}
	if slices.ContainsFunc(servers, func(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }) {
		families = append(families, windows.AF_INET6)
	}
	unmapped := make([]netip.Addr, len(servers))
	for i, a := range servers {
		unmapped[i] = a.Unmap()
	}
	servers = unmapped
	for _, f := range families {
		if err := luid.SetDNS(f, servers, domains); err != nil {
			return fmt.Errorf("setting the adapter's DNS: %w", err)
		}
	}
	return nil
}

// undo closes the adapter and reverts what h.st lists: NRPT rules first,
// then routes (which go with the adapter when it is ours and open),
// and clears the state file once all is gone.
func (h *winServer) undo() error {
	var errs []error
	c := h.st
	if c.NRPT {
		if err := removeNRPT(); err != nil {
			errs = append(errs, fmt.Errorf("removing office DNS rules: %w", err))
		}
	}
	if s := h.sess; s != nil {
		h.sess = nil
		// Closing the device closes the wintun adapter, and wintun
		// deletes it.
		s.dev.Close()
	} else if c.LUID != 0 {
		// Recorded by a run that ended without closing: routes on a
		// LUID that still exists.
		luid := winipcfg.LUID(c.LUID)
		// Only on our adapter: after a reboot the LUID may name
		// another one.
		if row, err := luid.Interface(); err == nil && row.Alias() == c.Interface {
			errs = append(errs, deleteRoutes(luid, c.Routes)...)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing the tunnel's changes: %w", err)
	}
	h.st = winState{}
	return winState{}.save(h.statePath())
}

func deleteRoutes(luid winipcfg.LUID, routes []netip.Prefix) []error {
	var errs []error
	for _, p := range routes {
		if err := luid.DeleteRoute(p, onLink(p)); err != nil && !errors.Is(err, windows.ERROR_NOT_FOUND) && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
			errs = append(errs, fmt.Errorf("removing route %s: %w", p, err))
		}
	}
	return errs
}

// recover undoes what an earlier run left: the state file's routes, all
// NRPT rules tagged as ours (also after a reboot, which keeps the
// registry), and a leftover adapter of ours. Errors are logged.
func (h *winServer) recover() {
	c, err := loadWinState(h.statePath())
	if err != nil {
		h.log.Warn("state file unreadable; cleaning up by name and tag", "err", err)
		c = winState{Interface: h.opts.Interface}
	}
	// Rules are removed by their tag whether or not the state lists
	// them: a crash between writing the rule and the state is covered.
	c.NRPT = true
	h.st = c
	if err := h.undo(); err != nil {
		h.log.Error("cleaning up after an earlier run", "err", err)
	}
	leftoverAdapter(h.opts.Interface, h.log.Warn)
}

// leftoverAdapter reports an adapter of our name that exists before we
// made one. wintun (0.14 and later) deletes an adapter when the process
// that created it ends, crashes included, so this is rare (an older
// wintun of another program by the same name); the next Up replaces an
// adapter with our GUID.
func leftoverAdapter(name string, warn func(string, ...any)) {
	a, err := wintun.OpenAdapter(name)
	if err != nil {
		return // none, or no wintun.dll: then no adapter of ours either
	}
	luid := a.LUID()
	a.Close() // an opened (not created) adapter stays when closed
	warn("an adapter of our name exists before any session; it is replaced at the next connect", "interface", name, "luid", luid)
}
