package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"time"

	"github.com/dienstweg/dienstweg/internal/profile"
)

// startDemo stands in until the demo organisation's portal lands (issue
// 3): it gives the demo profile a CA of its own and a portal address where
// nothing listens yet, so the agent, tray and windows run on their own.
func startDemo(ctx context.Context, log *slog.Logger) (*profile.Profile, func(), error) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	p, err := profile.Demo("https://127.0.0.1:1", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	return p, func() {}, err
}
