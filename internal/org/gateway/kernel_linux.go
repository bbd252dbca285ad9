package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.zx2c4.com/wireguard/tun"
)

// openKernel creates a TUN device with the gateway's address. The
// intranet services then listen on ordinary sockets on that address.
func openKernel(o *KernelOptions, addr netip.Prefix, mtu int) (tun.Device, system, error) {
	if o.Interface == "" {
		return nil, nil, errors.New("kernel mode needs an interface name")
	}
	tdev, err := tun.CreateTUN(o.Interface, mtu)
	if err != nil {
		return nil, nil, fmt.Errorf("creating tun %s: %w", o.Interface, err)
	}
	name, err := tdev.Name()
	if err != nil {
		tdev.Close()
		return nil, nil, err
	}
	link, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(addr)})
	}
	if err == nil {
		err = netlink.LinkSetUp(link)
	}
	if err != nil {
		tdev.Close()
		return nil, nil, fmt.Errorf("configuring %s: %w", name, err)
	}
	return tdev, kernelSys{name: name}, nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

type kernelSys struct{ name string }

func (kernelSys) ListenTCP(a netip.AddrPort) (net.Listener, error) {
	return net.Listen("tcp", a.String())
}

func (kernelSys) ListenUDP(a netip.AddrPort) (net.PacketConn, error) {
	return net.ListenPacket("udp", a.String())
}

// Close removes the interface if closing the TUN left it behind.
func (k kernelSys) Close() error {
	if l, err := netlink.LinkByName(k.name); err == nil {
		return netlink.LinkDel(l)
	}
	return nil
}
