// Command benchprofile prints a valid organisation profile for the idle
// benchmark: the demo organisation's profile with a throwaway CA and a
// portal URL nobody answers (the agent at idle does not call its portal).
// It starts from demo.Profile so the benchmark follows the profile format
// as it grows, instead of a hand-written copy that goes stale.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchprofile:", err)
		os.Exit(1)
	}
}

func run() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("making a CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Dienstweg bench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("making a CA certificate: %w", err)
	}
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	p, err := demo.Profile("https://127.0.0.1:9/", ca)
	if err != nil {
		return err
	}
	p.Organisation = "Stadt Benchstadt"
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}
