package profile

import (
	"crypto/x509"
	"fmt"
	"net"
)

// OfficeCheck is the host that tells the office network from any other:
// only inside the office does a TLS connection to Address, outside the
// tunnel, present a certificate for ServerName that chains to the
// organisation's pinned CA (Profile.PortalCA). Nothing the local network
// says about itself (its name, DHCP options, DNS suffix) counts, since
// any café can copy that.
type OfficeCheck struct {
	// Address is host:port of an internal server, e.g. "10.1.0.5:443"
	// or "buero.musterstadt.example:443"; a name must resolve in the
	// office network.
	Address string `json:"address"`
	// ServerName is the name its certificate must carry; "" means the
	// host of Address.
	ServerName string `json:"server_name,omitempty"`
}

// Name is the name the certificate must carry.
func (c OfficeCheck) Name() string {
	if c.ServerName != "" {
		return c.ServerName
	}
	host, _, _ := net.SplitHostPort(c.Address)
	return host
}

// PinnedRoots is the pool of PortalCA's certificates: the only roots the
// office check trusts.
func (p *Profile) PinnedRoots() (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(p.PortalCA)) {
		return nil, fmt.Errorf("portal_ca holds no PEM certificate")
	}
	return pool, nil
}

// officeProblems validates office_check.
func (p *Profile) officeProblems() []string {
	if p.OfficeCheck == nil {
		return nil
	}
	if err := checkHostPort(p.OfficeCheck.Address); err != nil {
		return []string{fmt.Sprintf("office_check: address: %v", err)}
	}
	return nil
}
