package health

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Route is a default route of the host.
type Route struct {
	Interface string
	// Up is true when the interface is up and has a carrier.
	Up bool
}

// RouteSource lists the host's default routes. Tests inject a fixed one.
// Implementations must be safe for concurrent use.
type RouteSource interface {
	DefaultRoutes() ([]Route, error)
}

// RoutesFunc adapts a function to RouteSource.
type RoutesFunc func() ([]Route, error)

// DefaultRoutes calls f.
func (f RoutesFunc) DefaultRoutes() ([]Route, error) { return f() }

// SystemRoutes is the platform's route source: the kernel's route tables
// on Linux, elsewhere any up interface with a global address.
func SystemRoutes() RouteSource {
	if runtime.GOOS == "linux" {
		return ProcRoutes{}
	}
	return RoutesFunc(interfaceRoutes)
}

// ProcRoutes reads the default routes from /proc/net/route and
// /proc/net/ipv6_route. Reading two small files costs microseconds, which
// is why the local network check can run often.
type ProcRoutes struct {
	// Root replaces "/proc/net" (tests point it at fixture files).
	Root string
	// InterfaceUp reports whether an interface is up with a carrier; nil
	// asks the kernel.
	InterfaceUp func(name string) bool
}

// Route flags from linux/route.h.
const (
	rtfUp     = 0x0001
	rtfReject = 0x0200
)

// DefaultRoutes implements RouteSource.
func (p ProcRoutes) DefaultRoutes() ([]Route, error) {
	root := p.Root
	if root == "" {
		root = "/proc/net"
	}
	up := p.InterfaceUp
	if up == nil {
		up = interfaceUp
	}
	var names []string
	v4, err4 := os.ReadFile(filepath.Join(root, "route"))
	if err4 == nil {
		names = append(names, parseRoute4(v4)...)
	}
	v6, err6 := os.ReadFile(filepath.Join(root, "ipv6_route"))
	if err6 == nil {
		names = append(names, parseRoute6(v6)...)
	}
	if err4 != nil && err6 != nil {
		return nil, fmt.Errorf("reading routes: %w", err4)
	}
	var routes []Route
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		routes = append(routes, Route{Interface: n, Up: up(n)})
	}
	return routes, nil
}

// parseRoute4 returns the interfaces of IPv4 default routes.
func parseRoute4(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil {
			continue
		}
		if f[1] == "00000000" && f[7] == "00000000" && flags&rtfUp != 0 && flags&rtfReject == 0 {
			out = append(out, f[0])
		}
	}
	return out
}

// parseRoute6 returns the interfaces of IPv6 default routes.
func parseRoute6(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		flags, err := strconv.ParseUint(f[8], 16, 32)
		if err != nil {
			continue
		}
		if strings.Trim(f[0], "0") == "" && f[1] == "00" && flags&rtfUp != 0 && flags&rtfReject == 0 && f[9] != "lo" {
			out = append(out, f[9])
		}
	}
	return out
}

func interfaceUp(name string) bool {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return false
	}
	return ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagRunning != 0
}

// interfaceRoutes approximates default routes where no route table is
// read: an up, non-loopback interface with a global unicast address.
func interfaceRoutes() ([]Route, error) {
	ifcs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	var out []Route
	for _, ifc := range ifcs {
		if ifc.Flags&net.FlagLoopback != 0 || ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() {
				out = append(out, Route{Interface: ifc.Name, Up: ifc.Flags&net.FlagRunning != 0})
				break
			}
		}
	}
	return out, nil
}
