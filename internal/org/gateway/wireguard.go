package gateway

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// wireGuard is the WireGuard device under the gateway: wireguard-go (on
// a netstack or a TUN device) or the kernel's, configured with wgctrl.
// The gateway serialises its calls.
type wireGuard interface {
	// setPeers applies the changes in one step.
	setPeers(changes []peerChange) error
	// state reads the port and the peers with their handshakes.
	state() (wgconf.Device, error)
	close()
}

// peerChange adds a device's peer (or replaces its allowed IP), or
// removes it.
type peerChange struct {
	// PublicKey is base64.
	PublicKey string
	Remove    bool
	// AllowedIP is the device's own address (not with Remove).
	AllowedIP netip.Prefix
}

// errNoKernelWireGuard: this kernel cannot make a WireGuard interface
// (no module); the gateway then runs wireguard-go on a TUN device.
var errNoKernelWireGuard = errors.New("the kernel has no WireGuard")

// goWireGuard is wireguard-go, configured through its UAPI.
type goWireGuard struct{ dev *device.Device }

func (w goWireGuard) setPeers(changes []peerChange) error {
	s, err := uapiPeers(changes)
	if err != nil {
		return err
	}
	return w.dev.IpcSet(s)
}

func (w goWireGuard) state() (wgconf.Device, error) {
	s, err := w.dev.IpcGet()
	if err != nil {
		return wgconf.Device{}, fmt.Errorf("reading gateway state: %w", err)
	}
	return wgconf.ParseUAPI(s)
}

func (w goWireGuard) close() { w.dev.Close() }

// uapiPeers writes changes as wireguard-go's UAPI set operation.
func uapiPeers(changes []peerChange) (string, error) {
	var b strings.Builder
	for _, c := range changes {
		hx, err := wgconf.HexKey(c.PublicKey)
		if err != nil {
			return "", fmt.Errorf("peer key: %w", err)
		}
		if c.Remove {
			fmt.Fprintf(&b, "public_key=%s\nremove=true\n", hx)
			continue
		}
		fmt.Fprintf(&b, "public_key=%s\nreplace_allowed_ips=true\nallowed_ip=%s\n", hx, c.AllowedIP)
	}
	return b.String(), nil
}

// kernelPeers is the same change for the kernel's WireGuard (wgctrl),
// with the same meaning: the peer's allowed IPs are replaced, not added.
func kernelPeers(changes []peerChange) (wgtypes.Config, error) {
	var cfg wgtypes.Config
	for _, c := range changes {
		k, err := wgtypes.ParseKey(c.PublicKey)
		if err != nil {
			return wgtypes.Config{}, fmt.Errorf("peer key: %w", err)
		}
		if c.Remove {
			cfg.Peers = append(cfg.Peers, wgtypes.PeerConfig{PublicKey: k, Remove: true})
			continue
		}
		a := c.AllowedIP
		cfg.Peers = append(cfg.Peers, wgtypes.PeerConfig{
			PublicKey:         k,
			ReplaceAllowedIPs: true,
			AllowedIPs:        []net.IPNet{{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}},
		})
	}
	return cfg, nil
}

// kernelState reads a wgctrl device as the UAPI reports it.
func kernelState(d *wgtypes.Device) wgconf.Device {
	out := wgconf.Device{ListenPort: d.ListenPort}
	for _, p := range d.Peers {
		wp := wgconf.Peer{
			PublicKey:     base64.StdEncoding.EncodeToString(p.PublicKey[:]),
			LastHandshake: p.LastHandshakeTime,
			RxBytes:       uint64(p.ReceiveBytes),
			TxBytes:       uint64(p.TransmitBytes),
		}
		if p.Endpoint != nil {
			wp.Endpoint = p.Endpoint.AddrPort()
		}
		for _, n := range p.AllowedIPs {
			if a, ok := netip.AddrFromSlice(n.IP); ok {
				ones, _ := n.Mask.Size()
				wp.AllowedIPs = append(wp.AllowedIPs, netip.PrefixFrom(a.Unmap(), ones))
			}
		}
		// The kernel says "never" as 1970-01-01, the UAPI reader as the
		// zero time; the gateway and its tests expect the latter.
		if wp.LastHandshake.Unix() == 0 && wp.LastHandshake.Nanosecond() == 0 {
			wp.LastHandshake = time.Time{}
		}
		out.Peers = append(out.Peers, wp)
	}
	return out
}
