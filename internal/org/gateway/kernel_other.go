//go:build !linux

package gateway

import (
	"errors"
	"net/netip"

	"golang.zx2c4.com/wireguard/tun"
)

func openKernel(*KernelOptions, netip.Prefix, int) (tun.Device, system, error) {
	return nil, nil, errors.New("kernel mode of the gateway is only available on Linux")
}

func openKernelWireGuard(*KernelOptions, netip.Prefix, int, string, int) (wireGuard, system, error) {
	return nil, nil, errNoKernelWireGuard
}
