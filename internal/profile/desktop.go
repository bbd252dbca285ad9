package profile

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Kinds of office desktop.
const (
	// DesktopRDP is a remote desktop host that the system's own client
	// (mstsc, Remmina, FreeRDP) connects to.
	DesktopRDP = "rdp"
	// DesktopWeb is the web address of a virtual-workplace portal, opened
	// in the default browser.
	DesktopWeb = "web"
)

// DefaultRDPPort is where an RDP host listens unless its address names
// another port.
const DefaultRDPPort = "3389"

// OfficeDesktop is an office desktop that IT offers through the secure
// connection: a remote desktop host or a virtual-workplace portal. It
// never holds a password: the desktop's own login or single sign-on asks.
type OfficeDesktop struct {
	// Name is what the employee reads, e.g. "Arbeitsplatz Bürgerbüro".
	Name string `json:"name"`
	// Kind is DesktopRDP or DesktopWeb.
	Kind string `json:"kind"`
	// Address is inside the office network: "host" or "host:port" for
	// DesktopRDP, an http:// or https:// URL for DesktopWeb.
	Address string `json:"address"`
	// CertSHA256 is the hex SHA-256 fingerprint of the RDP host's
	// certificate (colons allowed). Set, the client accepts that
	// certificate and no other, without asking; empty, the client asks
	// on the first connection and remembers the answer.
	CertSHA256 string `json:"cert_sha256,omitempty"`
}

// HostPort is the RDP host's address with the port, DefaultRDPPort if
// it names none; for a web desktop the URL's host and port.
func (d OfficeDesktop) HostPort() string {
	if d.Kind == DesktopWeb {
		u, err := url.Parse(d.Address)
		if err != nil {
			return ""
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		return net.JoinHostPort(u.Hostname(), port)
	}
	if _, _, err := net.SplitHostPort(d.Address); err == nil {
		return d.Address
	}
	return net.JoinHostPort(strings.Trim(d.Address, "[]"), DefaultRDPPort)
}

// Fingerprint is CertSHA256 in lower case without colons.
func (d OfficeDesktop) Fingerprint() string {
	return strings.ToLower(strings.ReplaceAll(d.CertSHA256, ":", ""))
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// validateDesktops returns what is wrong with the desktops' entries.
func validateDesktops(ds []OfficeDesktop) []string {
	var problems []string
	names := map[string]bool{}
	for i, d := range ds {
		if strings.TrimSpace(d.Name) == "" {
			problems = append(problems, fmt.Sprintf("office_desktops[%d]: name is empty", i))
		} else if names[d.Name] {
			problems = append(problems, fmt.Sprintf("office_desktops[%d]: name %q is given twice", i, d.Name))
		}
		names[d.Name] = true
		switch d.Kind {
		case DesktopRDP:
			if strings.ContainsAny(d.Address, "/\\ \t\r\n;") || d.Address == "" {
				problems = append(problems, fmt.Sprintf("office_desktops[%d]: address %q is not a host or host:port", i, d.Address))
			} else if err := checkHostPort(d.HostPort()); err != nil {
				problems = append(problems, fmt.Sprintf("office_desktops[%d]: address: %v", i, err))
			}
			if d.CertSHA256 != "" && !sha256Hex.MatchString(d.Fingerprint()) {
				problems = append(problems, fmt.Sprintf("office_desktops[%d]: cert_sha256 is not 64 hex digits", i))
			}
		case DesktopWeb:
			if u, err := url.Parse(d.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				problems = append(problems, fmt.Sprintf("office_desktops[%d]: address %q is not an http:// or https:// URL with a host", i, d.Address))
			}
			if d.CertSHA256 != "" {
				problems = append(problems, fmt.Sprintf("office_desktops[%d]: cert_sha256 is for kind rdp only", i))
			}
		default:
			problems = append(problems, fmt.Sprintf("office_desktops[%d]: kind %q is not rdp or web", i, d.Kind))
		}
	}
	return problems
}

// Desktop returns the office desktop with name.
func (p *Profile) Desktop(name string) (OfficeDesktop, bool) {
	for _, d := range p.OfficeDesktops {
		if d.Name == name {
			return d, true
		}
	}
	return OfficeDesktop{}, false
}
