// Package profile loads the organisation profile that IT places on each
// laptop: who the organisation is, where its portal lives, which CA to pin,
// which keys sign updates and whom employees call for help.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
)

// Profile is the organisation profile. It holds no secrets: it is the same
// file on every laptop of an organisation.
type Profile struct {
	// Organisation is the display name, e.g. "Stadt Musterstadt".
	Organisation string `json:"organisation"`
	// PortalURL is the HTTPS base URL of the organisation's portal.
	PortalURL string `json:"portal_url"`
	// PortalCA is the PEM-encoded CA certificate the client pins for the
	// portal. Nothing else is trusted.
	PortalCA string `json:"portal_ca"`
	// UpdateKeys are minisign public keys (the base64 line of a .pub file).
	// Listing two allows key rotation.
	UpdateKeys []string `json:"update_keys,omitempty"`
	// UpdateChannel is the release channel, "stable" if empty.
	UpdateChannel string `json:"update_channel,omitempty"`
	// Helpdesk is the contact shown in help texts and diagnoses.
	Helpdesk Helpdesk `json:"helpdesk"`
	// AccessibilityContact is where people report barriers in Dienstweg,
	// as the accessibility statement must name (BITV 2.0, § 7), e.g. the
	// organisation's accessibility officer; docs/accessibility.md.
	AccessibilityContact *AccessibilityContact `json:"accessibility_contact,omitempty"`
	// HealthTargets are office services the health checks probe through
	// the tunnel.
	HealthTargets []HealthTarget `json:"health_targets,omitempty"`
	// OfficeDNSName is an internal name that must resolve through the tunnel.
	OfficeDNSName string `json:"office_dns_name,omitempty"`
	// CaptiveProbeURL is a plain-http address that answers 204 No Content,
	// e.g. the organisation's own; a hotel or train login page that
	// intercepts it is then recognised. Empty turns that check off.
	CaptiveProbeURL string `json:"captive_probe_url,omitempty"`
	// InternetTargets are host:port (names or addresses) that the health
	// chain connects to, name lookup and TCP, to tell whether the laptop
	// reaches the internet; one answering is enough. They should be hosts
	// that do not depend on the organisation, so that an outage of the
	// portal is not mistaken for the employee's internet being down.
	// Empty means a few well-known connectivity-check hosts (and the
	// captive probe's host, if set).
	InternetTargets []string `json:"internet_targets,omitempty"`
	// DefaultLanguage is "de" or "en"; empty means follow the system.
	DefaultLanguage string `json:"default_language,omitempty"`
	// Tunnel says how the tunnel reaches the office; nil means mode
	// "system" (see TunnelMode).
	Tunnel *TunnelPolicy `json:"tunnel,omitempty"`
	// OfficeCheck names an internal host that answers TLS with a
	// certificate of PortalCA's organisation; reaching it outside the
	// tunnel means this computer is in the office (office.go). nil turns
	// the check off.
	OfficeCheck *OfficeCheck `json:"office_check,omitempty"`
	// AllowStartInOffice offers "Homeoffice starten" in the office too;
	// by default it is hidden there. Policy may set it.
	AllowStartInOffice bool `json:"allow_start_in_office,omitempty"`
	// AutoStart asks for the code by itself when the person signs in
	// outside the office and no session runs (agent.Config.AutoStart).
	// Policy may set it.
	AutoStart bool `json:"auto_start,omitempty"`
	// Demo is set only in the profile that `dienstweg-portal demo` writes:
	// a demo user's sign-in, which the setup wizard shows on its first
	// screens, so that anyone can try Dienstweg without a letter from IT.
	Demo *DemoLogin `json:"demo,omitempty"`
}

// TunnelPolicy is how the tunnel may reach the office.
type TunnelPolicy struct {
	// Mode is TunnelSystem, TunnelAuto or TunnelUserspace.
	Mode string `json:"mode"`
}

// Tunnel modes. The system tunnel (the privileged helper's TUN device,
// routes and office DNS) lets every program reach the office; the
// userspace tunnel runs inside the agent without privileges and reaches
// the office only for programs set to use its proxy, so mail, file
// shares and most specialised applications do not work there.
const (
	// TunnelSystem uses the helper and never falls back: without it, home
	// office does not start and the employee is told the helper is
	// missing. The default, so that an office never gets the limited mode
	// unasked.
	TunnelSystem = "system"
	// TunnelAuto uses the helper when it answers, else the userspace
	// tunnel (the demo without root).
	TunnelAuto = "auto"
	// TunnelUserspace always uses the userspace tunnel.
	TunnelUserspace = "userspace"
)

// TunnelMode is the profile's tunnel mode, TunnelSystem if it names none.
func (p *Profile) TunnelMode() string {
	if p == nil || p.Tunnel == nil || p.Tunnel.Mode == "" {
		return TunnelSystem
	}
	return p.Tunnel.Mode
}

// DemoLogin is a demo user's name and activation code.
type DemoLogin struct {
	User           string `json:"user"`
	ActivationCode string `json:"activation_code"`
}

// Helpdesk is how employees reach the IT service.
type Helpdesk struct {
	Phone string `json:"phone"`
	Hours string `json:"hours,omitempty"`
	Email string `json:"email,omitempty"`
}

// AccessibilityContact is an office that takes reports of barriers.
type AccessibilityContact struct {
	// Name is the office, e.g. "Beauftragte für digitale Barrierefreiheit".
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
}

// HealthTarget is one office service that the health chain checks.
type HealthTarget struct {
	Name string `json:"name"`
	// Kind is "tcp" (Address is host:port), or "https" or "http" (Address
	// is a URL; plain http is fine inside the tunnel, which encrypts).
	Kind    string `json:"kind"`
	Address string `json:"address"`
}

// ErrNotInstalled reports that no profile exists at the platform path.
var ErrNotInstalled = errors.New("no organisation profile installed")

// DefaultPath is where IT places the profile on this platform.
func DefaultPath() string {
	switch runtime.GOOS {
	case "windows":
		base := os.Getenv("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, "Dienstweg", "profile.json")
	case "darwin":
		return "/Library/Application Support/Dienstweg/profile.json"
	default:
		return "/etc/dienstweg/profile.json"
	}
}

// maxProfileSize bounds what we read; a real profile is a few kilobytes.
const maxProfileSize = 1 << 20

// Load reads and validates the profile at path. A missing file gives an
// error matching ErrNotInstalled.
func Load(path string) (*Profile, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNotInstalled, path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening profile: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading profile %s: %w", path, err)
	}
	if st.Size() > maxProfileSize {
		return nil, fmt.Errorf("profile %s is too large (%d bytes)", path, st.Size())
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("reading profile %s: %w", path, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and validates a profile. Unknown fields are rejected so a
// typo in a hand-edited profile is found at once, not on the first Monday.
func Parse(data []byte) (*Profile, error) {
	p, err := parseUnvalidated(data)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func parseUnvalidated(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("malformed profile: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("malformed profile: data after the JSON object")
	}
	if err := exactKeys(data); err != nil {
		return nil, fmt.Errorf("malformed profile: %w", err)
	}
	return &p, nil
}

// fieldNames are the profile's JSON keys, spelled as documented.
var fieldNames = func() map[string]bool {
	names := map[string]bool{}
	for _, t := range []reflect.Type{reflect.TypeFor[Profile](), reflect.TypeFor[Helpdesk](), reflect.TypeFor[HealthTarget](), reflect.TypeFor[DemoLogin](), reflect.TypeFor[AccessibilityContact](), reflect.TypeFor[TunnelPolicy](), reflect.TypeFor[OfficeCheck]()} {
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			names[name] = true
		}
	}
	return names
}()

// exactKeys rejects what encoding/json lets through: a key in another
// case ("Portal_CA") and a key given twice, of which the last would win.
// Both make the client read another value than a person or a tool that
// checks the file, so the profile must say each thing once, as documented.
// data is one JSON value that decoded into a Profile.
func exactKeys(data []byte) error {
	type frame struct {
		object, wantKey bool
		seen            map[string]bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			key, _ := tok.(string)
			switch {
			case !fieldNames[key]:
				return fmt.Errorf("key %q is not spelled as documented", key)
			case stack[n-1].seen[key]:
				return fmt.Errorf("key %q is given twice", key)
			}
			stack[n-1].seen[key], stack[n-1].wantKey = true, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, seen: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// Validate checks the fields the client cannot work without.
func (p *Profile) Validate() error {
	var problems []string
	if strings.TrimSpace(p.Organisation) == "" {
		problems = append(problems, "organisation is empty")
	}
	u, err := url.Parse(p.PortalURL)
	switch {
	case p.PortalURL == "":
		problems = append(problems, "portal_url is empty")
	case err != nil:
		problems = append(problems, fmt.Sprintf("portal_url: %v", err))
	case u.Scheme != "https":
		problems = append(problems, "portal_url must use https")
	case u.Hostname() == "":
		problems = append(problems, "portal_url has no host")
	}
	if !strings.Contains(p.PortalCA, "BEGIN CERTIFICATE") {
		problems = append(problems, "portal_ca must be a PEM certificate")
	}
	if strings.TrimSpace(p.OfficeDNSName) == "" {
		problems = append(problems, "office_dns_name is empty (an internal name that must resolve through the tunnel)")
	}
	if p.CaptiveProbeURL != "" {
		if u, err := url.Parse(p.CaptiveProbeURL); err != nil || u.Scheme != "http" || u.Host == "" {
			problems = append(problems, "captive_probe_url must be a plain http:// URL (a login page can only intercept http)")
		}
	}
	for i, t := range p.InternetTargets {
		if err := checkHostPort(t); err != nil {
			problems = append(problems, fmt.Sprintf("internet_targets[%d]: %v", i, err))
		}
	}
	switch p.DefaultLanguage {
	case "", "de", "en":
	default:
		problems = append(problems, fmt.Sprintf("default_language %q is not de or en", p.DefaultLanguage))
	}
	if p.Tunnel != nil {
		switch p.Tunnel.Mode {
		case TunnelSystem, TunnelAuto, TunnelUserspace:
		default:
			problems = append(problems, fmt.Sprintf("tunnel.mode %q is not system, auto or userspace", p.Tunnel.Mode))
		}
	}
	if p.Demo != nil && (p.Demo.User == "" || p.Demo.ActivationCode == "") {
		problems = append(problems, "demo needs a user and an activation_code")
	}
	if c := p.AccessibilityContact; c != nil {
		if strings.TrimSpace(c.Name) == "" {
			problems = append(problems, "accessibility_contact needs a name")
		}
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Name != "" {
			problems = append(problems, fmt.Sprintf("accessibility_contact: email %q is not a plain e-mail address", c.Email))
		}
	}
	for i, t := range p.HealthTargets {
		switch t.Kind {
		case "tcp":
			if err := checkHostPort(t.Address); err != nil {
				problems = append(problems, fmt.Sprintf("health_targets[%d]: address: %v", i, err))
			}
		case "https", "http":
			if u, err := url.Parse(t.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				problems = append(problems, fmt.Sprintf("health_targets[%d]: address %q is not an http:// or https:// URL with a host", i, t.Address))
			}
		default:
			problems = append(problems, fmt.Sprintf("health_targets[%d]: kind %q is not tcp, http or https", i, t.Kind))
		}
		if strings.TrimSpace(t.Name) == "" {
			problems = append(problems, fmt.Sprintf("health_targets[%d]: name is empty", i))
		}
	}
	problems = append(problems, p.officeProblems()...)
	if len(problems) > 0 {
		return fmt.Errorf("invalid profile: %s", strings.Join(problems, "; "))
	}
	return nil
}

// checkHostPort accepts "host:port" with a host and a port from 1 to
// 65535, as a dialer needs it.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%q has no port from 1 to 65535", s)
	}
	return nil
}

// Channel returns the update channel, defaulting to "stable".
func (p *Profile) Channel() string {
	if p.UpdateChannel == "" {
		return "stable"
	}
	return p.UpdateChannel
}
