package gateway

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// openKernelWireGuard makes a WireGuard interface of the kernel with the
// gateway's key, port and address. Without the kernel module it returns
// errNoKernelWireGuard and leaves nothing behind.
func openKernelWireGuard(o *KernelOptions, addr netip.Prefix, mtu int, privateKey string, port int) (wireGuard, system, error) {
	if o.Interface == "" {
		return nil, nil, errors.New("kernel mode needs an interface name")
	}
	key, err := wgtypes.ParseKey(privateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway private key: %w", err)
	}
	link := &netlink.Wireguard{LinkAttrs: netlink.LinkAttrs{Name: o.Interface, MTU: mtu}}
	if err := netlink.LinkAdd(link); err != nil {
		// EOPNOTSUPP: no such link type, the module is missing.
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, nil, fmt.Errorf("%w: creating %s: %v", errNoKernelWireGuard, o.Interface, err)
		}
		return nil, nil, fmt.Errorf("creating wireguard interface %s: %w", o.Interface, err)
	}
	sys := kernelSys{name: o.Interface}
	client, err := wgctrl.New()
	if err == nil {
		err = client.ConfigureDevice(o.Interface, wgtypes.Config{PrivateKey: &key, ListenPort: &port, ReplacePeers: true})
		if err != nil {
			client.Close()
		}
	}
	if err == nil {
		err = netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(addr)})
		if err == nil {
			err = netlink.LinkSetUp(link)
		}
		if err != nil {
			client.Close()
		}
	}
	if err != nil {
		sys.Close()
		return nil, nil, fmt.Errorf("configuring wireguard interface %s: %w", o.Interface, err)
	}
	return &kernelWireGuard{client: client, name: o.Interface}, sys, nil
}

// kernelWireGuard is the kernel's WireGuard, configured with wgctrl.
type kernelWireGuard struct {
	client *wgctrl.Client
	name   string
}

func (k *kernelWireGuard) setPeers(changes []peerChange) error {
	cfg, err := kernelPeers(changes)
	if err != nil {
		return err
	}
	return k.client.ConfigureDevice(k.name, cfg)
}

func (k *kernelWireGuard) state() (wgconf.Device, error) {
	d, err := k.client.Device(k.name)
	if err != nil {
		return wgconf.Device{}, fmt.Errorf("reading gateway state: %w", err)
	}
	return kernelState(d), nil
}

// close releases wgctrl; the interface goes with kernelSys.Close.
func (k *kernelWireGuard) close() { k.client.Close() }
