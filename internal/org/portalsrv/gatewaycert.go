package portalsrv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// gatewayLifetime is how long a gateway certificate holds; the admin
// issues a new one before (docs/gateway.md).
const gatewayLifetime = 397 * 24 * time.Hour

// GatewayCert is a gateway's client certificate and key, and the CA
// that vouches for the portal (for the gateway to pin).
type GatewayCert struct {
	CertPEM, KeyPEM, CAPEM []byte
	NotAfter               time.Time
}

// loadOrCreateCA returns the portal's CA in dir, creating it on first
// use as LoadOrCreateTLS does.
func loadOrCreateCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating tls dir: %w", err)
	}
	cert, key, err := loadPair(filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile))
	if errors.Is(err, os.ErrNotExist) {
		cert, key, err = createCA(dir, now)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("portal ca: %w", err)
	}
	return cert, key, nil
}

// GatewayClientCA returns the CA in tlsDir (created on first use) as the
// pool Config.GatewayClientCA wants.
func GatewayClientCA(tlsDir string, now time.Time) (*x509.CertPool, error) {
	ca, _, err := loadOrCreateCA(tlsDir, now)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, nil
}

// IssueGatewayCert issues a client certificate for the gateway with this
// WireGuard public key from the CA in tlsDir. The key in its common name
// ties it to one entry of the portal's gateways: taking the gateway out
// of the configuration revokes the certificate, with no state stored.
// caPEM is what the gateway pins for the portal; empty means the CA in
// tlsDir (a portal with a certificate of its own passes its --ca).
func IssueGatewayCert(tlsDir, publicKey string, caPEM []byte, now time.Time) (*GatewayCert, error) {
	if _, err := parseWGKey(publicKey); err != nil {
		return nil, fmt.Errorf("gateway public key: %w", err)
	}
	ca, caKey, err := loadOrCreateCA(tlsDir, now)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: publicKey, OrganizationalUnit: []string{GatewayOU}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(gatewayLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("issuing gateway certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if len(caPEM) == 0 {
		caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	}
	return &GatewayCert{
		CertPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		CAPEM:    caPEM,
		NotAfter: tmpl.NotAfter,
	}, nil
}
