package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// The admin's steps for a gateway of its own: a key on the gateway's
// host, a certificate from the portal's CA for exactly that key, and the
// portal listing the gateway.
func TestGatewayCommands(t *testing.T) {
	t.Parallel()
	data, gwDir := t.TempDir(), filepath.Join(t.TempDir(), "gw")
	pub := strings.TrimSpace(runOK(t, "gateway", "key", "--dir", gwDir))
	if again := strings.TrimSpace(runOK(t, "gateway", "key", "--dir", gwDir)); again != pub {
		t.Errorf("gateway key made a new key %s, had %s", again, pub)
	}
	fi, err := os.Stat(filepath.Join(gwDir, gatewayKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if _, err := wgconf.HexKey(pub); err != nil {
		t.Fatalf("gateway key printed %q: %v", pub, err)
	}

	out := runOK(t, "gateway", "cert", "--data", data, "--public-key", pub, "--out", gwDir)
	if !strings.Contains(out, "--gateway HOST:PORT="+pub) {
		t.Errorf("gateway cert printed %q", out)
	}
	tlsCfg, err := gateway.GatewayTLS(filepath.Join(gwDir, gatewayCertFile), filepath.Join(gwDir, gatewayCertKeyFile), filepath.Join(gwDir, gatewayCAFile))
	if err != nil {
		t.Fatalf("GatewayTLS: %v", err)
	}
	leaf, err := x509.ParseCertificate(tlsCfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	cfg, err := serveConfig("Stadt", "", "", "10.77.0.0/16", "", "", "", "20:00", "UTC", 16)
	if err != nil {
		t.Fatalf("serveConfig: %v", err)
	}
	var gws gatewayList
	otherKey, _ := wgconf.NewPrivateKey()
	other, _ := wgconf.PublicKey(otherKey)
	for _, v := range []string{"gw1.example:51820=" + pub, "gw2.example:51820=" + other} {
		if err := gws.Set(v); err != nil {
			t.Fatalf("--gateway %s: %v", v, err)
		}
	}
	if err := gws.Set("gw3.example:51820"); err == nil {
		t.Errorf("--gateway without a key accepted")
	}
	if err := useGateways(&cfg, gws, data); err != nil {
		t.Fatalf("useGateways: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: cfg.GatewayClientCA, CurrentTime: time.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the portal does not trust the issued certificate: %v", err)
	}
	if leaf.Subject.CommonName != pub {
		t.Errorf("certificate names %q, want the gateway's key %s", leaf.Subject.CommonName, pub)
	}
	fs, _ := flags("test")
	if err := fs.Parse([]string{"--data", data}); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(fs)
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	defer st.Close()
	srv, err := portalsrv.New(cfg, st)
	if err != nil {
		t.Fatalf("portalsrv.New with two gateways: %v", err)
	}
	if tun := srv.Tunnel(); len(tun.Gateways) != 2 || tun.GatewayEndpoint != "gw1.example:51820" || tun.GatewayPublicKey != pub {
		t.Errorf("tunnel = %+v; want both gateways, the first one also as the single gateway of older clients", tun)
	}
}
