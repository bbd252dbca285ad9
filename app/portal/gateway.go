package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/opsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
	"github.com/prometheus/client_golang/prometheus"
)

const gatewayUsage = `usage: dienstweg-portal gateway COMMAND [flags]

A gateway of its own runs on its own host and reads the authorised devices
from the portal. See docs/gateway.md.

commands (on the gateway's host):
  key [--dir DIR]                      create the gateway's WireGuard key if missing, print its public key
  serve --portal URL [--dir DIR] …     run the gateway
commands (on the portal's host):
  cert --public-key KEY --out DIR      issue the gateway's client certificate from the portal's CA
`

// Files in the gateway's directory.
const (
	defaultGatewayDir  = "/var/lib/dienstweg-gateway"
	gatewayKeyFile     = "wireguard.key"
	gatewayCertFile    = "gateway.pem"
	gatewayCertKeyFile = "gateway-key.pem"
	gatewayCAFile      = "portal-ca.pem"
)

func gatewayCmd(args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, gatewayUsage)
		return errors.New("gateway needs a command")
	}
	switch args[0] {
	case "key":
		return gatewayKey(args[1:], out)
	case "cert":
		return gatewayCert(args[1:], out)
	case "serve":
		return gatewayServe(args[1:], out)
	case "help", "-h", "--help":
		fmt.Fprint(out, gatewayUsage)
		return nil
	}
	fmt.Fprint(out, gatewayUsage)
	return fmt.Errorf("unknown command %q", "gateway "+args[0])
}

// loadOrCreateGatewayKey returns the private key in dir, creating it
// (readable by the service only) on first use.
func loadOrCreateGatewayKey(dir string) (string, error) {
	path := filepath.Join(dir, gatewayKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		key := strings.TrimSpace(string(b))
		if _, err := wgconf.PublicKey(key); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading the gateway key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("gateway dir: %w", err)
	}
	key, err := wgconf.NewPrivateKey()
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the gateway key: %w", err)
	}
	return key, nil
}

func gatewayKey(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gateway key", flag.ContinueOnError)
	dir := fs.String("dir", defaultGatewayDir, "the gateway's directory")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	key, err := loadOrCreateGatewayKey(*dir)
	if err != nil {
		return err
	}
	pub, _ := wgconf.PublicKey(key)
	fmt.Fprintln(out, pub)
	return nil
}

func gatewayCert(args []string, out io.Writer) error {
	fs, data := flags("gateway cert")
	pub := fs.String("public-key", "", "the gateway's WireGuard public key, from \"gateway key\" on its host (required)")
	outDir := fs.String("out", "", "directory to write "+gatewayCertFile+", "+gatewayCertKeyFile+" and "+gatewayCAFile+" to (required)")
	caFile := fs.String("ca", "", "CA that vouches for the portal's certificate, when serve runs with --cert (default: the portal's own CA)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *pub == "" || *outDir == "" {
		return errors.New("gateway cert needs --public-key and --out")
	}
	var caPEM []byte
	if *caFile != "" {
		b, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
		caPEM = b
	}
	c, err := portalsrv.IssueGatewayCert(filepath.Join(*data, "tls"), *pub, caPEM, time.Now())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o700); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{gatewayCertKeyFile, c.KeyPEM, 0o600},
		{gatewayCertFile, c.CertPEM, 0o644},
		{gatewayCAFile, c.CAPEM, 0o644},
	} {
		if err := atomicfile.WriteFile(filepath.Join(*outDir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	fmt.Fprintf(out, "gateway certificate for %s, valid until %s, in %s\n"+
		"Copy the three files into the gateway's directory (default %s), and list the gateway on the portal:\n"+
		"  dienstweg-portal serve … --gateway HOST:PORT=%s\n",
		*pub, c.NotAfter.Local().Format("2006-01-02"), *outDir, defaultGatewayDir, *pub)
	return nil
}

func gatewayServe(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gateway serve", flag.ContinueOnError)
	dir := fs.String("dir", defaultGatewayDir, "the gateway's directory: WireGuard key, client certificate, portal CA")
	portalURL := fs.String("portal", "", "the portal's URL, e.g. https://portal.musterstadt.example:8443 (required)")
	port := fs.Int("listen-port", 51820, "UDP port devices reach the gateway on")
	addr := fs.String("address", "10.77.0.1/16", "the gateway's tunnel address with the office prefix")
	iface := fs.String("interface", "dwgw0", "network interface of the tunnel (kernel WireGuard where the module exists, else a TUN device; needs root)")
	userspace := fs.Bool("userspace", false, "no interface: WireGuard and a TCP/IP stack inside the process, which reaches only --demo-intranet (for trying it out without root)")
	demo := fs.Bool("demo-intranet", false, "answer DNS and a demo intranet page on the tunnel address")
	debug := fs.Bool("debug", false, "log WireGuard's per-packet lines")
	metrics := fs.String("metrics", "", "serve /metrics, /healthz and /readyz in plain HTTP on this address, e.g. 127.0.0.1:9188; keep it off the public network (empty: off)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *portalURL == "" {
		return errors.New("gateway serve needs --portal")
	}
	var mln net.Listener
	if *metrics != "" {
		var err error
		if mln, err = net.Listen("tcp", *metrics); err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
	}
	prefix, err := netip.ParsePrefix(*addr)
	if err != nil {
		return fmt.Errorf("--address: %w", err)
	}
	key, err := loadOrCreateGatewayKey(*dir)
	if err != nil {
		return err
	}
	tlsCfg, err := gateway.GatewayTLS(filepath.Join(*dir, gatewayCertFile), filepath.Join(*dir, gatewayCertKeyFile), filepath.Join(*dir, gatewayCAFile))
	if err != nil {
		return fmt.Errorf("%w (issue them on the portal's host with \"dienstweg-portal gateway cert\")", err)
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg := gateway.Config{PrivateKey: key, ListenPort: *port, Address: prefix, Logger: logger}
	if !*userspace {
		cfg.Kernel = &gateway.KernelOptions{Interface: *iface}
	}
	if *demo {
		cfg.DNS = gateway.DemoDNS(prefix.Addr())
		cfg.HTTP = gateway.IntranetHandler("Stadt Musterstadt")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return gateway.RunWithPortal(ctx, gateway.PortalSourceConfig{PortalURL: *portalURL, TLS: tlsCfg, Logger: logger}, cfg, func(g *gateway.Gateway) {
		fmt.Fprintf(out, "gateway %s on UDP port %d, peers from %s\n", g.PublicKey(), g.Port(), *portalURL)
		if mln != nil {
			go func() {
				if err := opsrv.Serve(ctx, mln, opsrv.Config{Collectors: []prometheus.Collector{g.Collector()}, Logger: logger}); err != nil {
					logger.Error("metrics endpoint stopped", "err", err)
				}
			}()
			fmt.Fprintf(out, "metrics and health on http://%s/metrics, /healthz, /readyz\n", mln.Addr())
		}
	})
}

// gatewayList is the repeatable --gateway ENDPOINT=PUBLICKEY of serve.
type gatewayList []portalsrv.Gateway

func (l *gatewayList) String() string {
	var parts []string
	for _, g := range *l {
		parts = append(parts, g.Endpoint+"="+g.PublicKey)
	}
	return strings.Join(parts, ",")
}

func (l *gatewayList) Set(v string) error {
	ep, key, ok := strings.Cut(v, "=")
	if !ok || ep == "" || key == "" {
		return fmt.Errorf("want HOST:PORT=PUBLICKEY, not %q", v)
	}
	*l = append(*l, portalsrv.Gateway{Endpoint: ep, PublicKey: key})
	return nil
}

// useGateways lists the gateways of their own in cfg and trusts the
// client certificates of the portal's CA in data for them.
func useGateways(cfg *portalsrv.Config, gws gatewayList, data string) error {
	if len(gws) > 0 {
		cfg.Tunnel.Gateways = gws
	}
	ca, err := portalsrv.GatewayClientCA(filepath.Join(data, "tls"), time.Now())
	if err != nil {
		return err
	}
	cfg.GatewayClientCA = ca
	return nil
}
