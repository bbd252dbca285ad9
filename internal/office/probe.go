// Package office tells whether this computer is in the office network.
// It trusts nothing the local network says about itself: the check is a
// TLS connection, outside the home-office tunnel, to an internal host the
// profile names (profile.OfficeCheck), whose certificate must chain to
// the organisation's pinned CA. A café can copy a network's name, its
// DNS suffix or its DHCP options, but not that certificate's key.
package office

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/dienstweg/dienstweg/internal/profile"
)

// DefaultTimeout bounds one check. Inside the office the host answers in
// milliseconds; at home its address is often routed to the internet and
// nothing answers, so the timeout is how long "left the office" takes to
// be noticed after a network change.
const DefaultTimeout = 3 * time.Second

// DialFunc opens a connection; net.Dialer.DialContext is one.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Probe is one way to check: where, which name, which roots.
type Probe struct {
	// Address is host:port of the office's own host.
	Address string
	// ServerName is the name its certificate must carry.
	ServerName string
	// Roots are the only CAs trusted: the organisation's pinned one.
	Roots *x509.CertPool
	// Dial connects outside the tunnel; nil means OutsideTunnel(nil).
	Dial DialFunc
	// Timeout bounds one check; 0 means DefaultTimeout.
	Timeout time.Duration
}

// ProbeFromProfile is the profile's check, or nil when it names none.
func ProbeFromProfile(p *profile.Profile) (*Probe, error) {
	if p == nil || p.OfficeCheck == nil {
		return nil, nil
	}
	roots, err := p.PinnedRoots()
	if err != nil {
		return nil, fmt.Errorf("office check: %w", err)
	}
	return &Probe{Address: p.OfficeCheck.Address, ServerName: p.OfficeCheck.Name(), Roots: roots}, nil
}

// ErrNotOffice wraps every reason the check did not find the office.
var ErrNotOffice = errors.New("not in the office network")

// Check connects and verifies; nil means this computer is in the office.
// Any other outcome (no route, no answer, another CA, another name)
// means it is not, and the error says why, for the log.
func (p *Probe) Check(ctx context.Context) error {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := p.Dial
	if dial == nil {
		dial = OutsideTunnel(nil)
	}
	raw, err := dial(ctx, "tcp", p.Address)
	if err != nil {
		return fmt.Errorf("%w: connecting to %s: %w", ErrNotOffice, p.Address, err)
	}
	defer raw.Close()
	conn := tls.Client(raw, &tls.Config{
		ServerName: p.ServerName,
		RootCAs:    p.Roots,
		MinVersion: tls.VersionTLS12,
	})
	// The handshake verifies the chain against Roots alone and the name;
	// nothing is sent after it.
	if err := conn.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("%w: TLS with %s (%s): %w", ErrNotOffice, p.Address, p.ServerName, err)
	}
	return conn.Close()
}
