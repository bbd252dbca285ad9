package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig says where the directory is and how its entries become
// users. Read it with LoadLDAPConfig; docs/directory.md explains each
// field with an Active Directory example.
type LDAPConfig struct {
	// URL is ldaps://host[:port] or ldap://host[:port]. Plain ldap://
	// needs StartTLS, a loopback host or AllowPlainLDAP.
	URL string `json:"url"`
	// CAFile is the directory's CA (PEM); empty: the system's CAs.
	CAFile         string `json:"ca_file,omitempty"`
	StartTLS       bool   `json:"start_tls,omitempty"`
	AllowPlainLDAP bool   `json:"allow_plain_ldap,omitempty"`

	BindDN string `json:"bind_dn"`
	// The bind password comes from a file or an environment variable,
	// never from the command line, where ps would show it.
	PasswordFile string `json:"password_file,omitempty"`
	PasswordEnv  string `json:"password_env,omitempty"`

	// Schema picks the defaults below: "ad" (Active Directory) or
	// "openldap".
	Schema string `json:"schema"`
	BaseDN string `json:"base_dn"`
	// Filter selects the users; the AD default leaves out disabled
	// accounts, so they count as having left.
	Filter string `json:"filter,omitempty"`
	// Attributes name the user's attributes.
	UserAttribute        string `json:"user_attribute,omitempty"`
	DisplayNameAttribute string `json:"display_name_attribute,omitempty"`
	// MemberOfAttribute lists the user's groups as DNs (AD: memberOf).
	// Empty with GroupSearch set: groups come from the group search.
	MemberOfAttribute string `json:"member_of_attribute,omitempty"`
	// GroupSearch finds groups and their members (OpenLDAP: groupOfNames
	// with member).
	GroupSearch *GroupSearch `json:"group_search,omitempty"`
	// GroupMap renames groups: directory group name (the first value of
	// its DN, e.g. "GG-Bauamt") → portal group ("bauamt"). Names are
	// matched without regard to case.
	GroupMap map[string]string `json:"group_map,omitempty"`
	// OnlyMappedGroups drops groups GroupMap does not name, so the
	// portal sees only the groups that mean something to it.
	OnlyMappedGroups bool `json:"only_mapped_groups,omitempty"`
	// PageSize is how many entries one page of a search holds
	// (AD answers at most 1000 without paging).
	PageSize       uint32 `json:"page_size,omitempty"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty"`
}

// GroupSearch says how to find groups with their members.
type GroupSearch struct {
	BaseDN          string `json:"base_dn,omitempty"` // default: the config's BaseDN
	Filter          string `json:"filter,omitempty"`
	MemberAttribute string `json:"member_attribute,omitempty"`
}

// LoadLDAPConfig reads a JSON config, fills in the schema's defaults and
// checks it.
func LoadLDAPConfig(path string) (LDAPConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return LDAPConfig{}, fmt.Errorf("reading the directory config: %w", err)
	}
	var c LDAPConfig
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return LDAPConfig{}, fmt.Errorf("directory config %s: %w", path, err)
	}
	if err := c.complete(); err != nil {
		return LDAPConfig{}, fmt.Errorf("directory config %s: %w", path, err)
	}
	return c, nil
}

// complete sets defaults and checks the config.
func (c *LDAPConfig) complete() error {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	switch c.Schema {
	case "ad":
		def(&c.Filter, "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))")
		def(&c.UserAttribute, "sAMAccountName")
		def(&c.DisplayNameAttribute, "displayName")
		if c.GroupSearch == nil {
			def(&c.MemberOfAttribute, "memberOf")
		}
	case "openldap":
		def(&c.Filter, "(objectClass=inetOrgPerson)")
		def(&c.UserAttribute, "uid")
		def(&c.DisplayNameAttribute, "cn")
		if c.GroupSearch == nil && c.MemberOfAttribute == "" {
			c.GroupSearch = &GroupSearch{}
		}
	default:
		return fmt.Errorf("schema %q: want \"ad\" or \"openldap\"", c.Schema)
	}
	if gs := c.GroupSearch; gs != nil {
		def(&gs.BaseDN, c.BaseDN)
		def(&gs.Filter, "(objectClass=groupOfNames)")
		def(&gs.MemberAttribute, "member")
	}
	if c.PageSize == 0 {
		c.PageSize = 500
	}
	if c.TimeoutSeconds == 0 {
		c.TimeoutSeconds = 30
	}
	u, err := url.Parse(c.URL)
	switch {
	case err != nil:
		return fmt.Errorf("url: %w", err)
	case u.Scheme != "ldaps" && u.Scheme != "ldap":
		return fmt.Errorf("url %q: want ldaps:// or ldap://", c.URL)
	case u.Scheme == "ldaps" && c.StartTLS:
		return errors.New("start_tls is for ldap:// URLs; ldaps:// is TLS from the start")
	case u.Scheme == "ldap" && !c.StartTLS && !c.AllowPlainLDAP && !isLoopback(u.Hostname()):
		return fmt.Errorf("url %q sends the bind password in clear text: use ldaps://, set start_tls, or (on a network you trust) allow_plain_ldap", c.URL)
	case c.BaseDN == "":
		return errors.New("base_dn is empty")
	case c.BindDN != "" && c.PasswordFile == "" && c.PasswordEnv == "":
		return errors.New("bind_dn needs password_file or password_env")
	}
	for _, f := range []string{c.BaseDN, c.BindDN} {
		if f == "" {
			continue
		}
		if _, err := ldap.ParseDN(f); err != nil {
			return fmt.Errorf("DN %q: %w", f, err)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c LDAPConfig) password() (string, error) {
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("reading the bind password: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if c.PasswordEnv != "" {
		p, ok := os.LookupEnv(c.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("the environment variable %s with the bind password is not set", c.PasswordEnv)
		}
		return p, nil
	}
	return "", nil
}

func (c LDAPConfig) tlsConfig() (*tls.Config, error) {
	u, _ := url.Parse(c.URL)
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the directory's CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// ReadLDAP connects, binds and reads every user with their groups. Any
// failure returns an error and no entries, so a sync changes nothing.
func ReadLDAP(ctx context.Context, c LDAPConfig) ([]Entry, error) {
	timeout := time.Duration(c.TimeoutSeconds) * time.Second
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	pw, err := c.password()
	if err != nil {
		return nil, err
	}
	conn, err := ldap.DialURL(c.URL, ldap.DialWithDialer(&net.Dialer{Timeout: timeout}), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("connecting to the directory %s: %w", c.URL, err)
	}
	defer conn.Close()
	conn.SetTimeout(timeout)
	// Close on cancellation so a hanging request returns.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if c.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			return nil, fmt.Errorf("StartTLS with %s: %w", c.URL, err)
		}
	}
	if c.BindDN != "" {
		if err := conn.Bind(c.BindDN, pw); err != nil {
			return nil, fmt.Errorf("signing in to the directory as %s: %w", c.BindDN, err)
		}
	}

	attrs := []string{c.UserAttribute, c.DisplayNameAttribute}
	if c.MemberOfAttribute != "" {
		attrs = append(attrs, c.MemberOfAttribute)
	}
	users, err := conn.SearchWithPaging(ldap.NewSearchRequest(c.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, c.Filter, attrs, nil), c.PageSize)
	if err != nil {
		return nil, fmt.Errorf("searching users under %s with %s: %w", c.BaseDN, c.Filter, err)
	}

	// Group search: member DN → group names.
	groupsOf := map[string][]string{}
	if gs := c.GroupSearch; gs != nil {
		res, err := conn.SearchWithPaging(ldap.NewSearchRequest(gs.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 0, false, gs.Filter, []string{gs.MemberAttribute}, nil), c.PageSize)
		if err != nil {
			return nil, fmt.Errorf("searching groups under %s with %s: %w", gs.BaseDN, gs.Filter, err)
		}
		for _, g := range res.Entries {
			for _, m := range g.GetEqualFoldAttributeValues(gs.MemberAttribute) {
				k, err := dnKey(m)
				if err != nil {
					continue // a member value that is no DN names nobody
				}
				groupsOf[k] = append(groupsOf[k], g.DN)
			}
		}
	}

	out := make([]Entry, 0, len(users.Entries))
	var problems []Problem
	for _, e := range users.Entries {
		name := e.GetEqualFoldAttributeValue(c.UserAttribute)
		if name == "" {
			problems = append(problems, Problem{Code: ProblemNoUserName, Where: Where{DN: e.DN}, Field: c.UserAttribute})
			continue
		}
		var groupDNs []string
		if c.MemberOfAttribute != "" {
			groupDNs = append(groupDNs, e.GetEqualFoldAttributeValues(c.MemberOfAttribute)...)
		}
		if k, err := dnKey(e.DN); err == nil {
			groupDNs = append(groupDNs, groupsOf[k]...)
		}
		out = append(out, Entry{
			Name:        name,
			DisplayName: e.GetEqualFoldAttributeValue(c.DisplayNameAttribute),
			Groups:      c.mapGroups(groupDNs),
			Where:       Where{DN: e.DN},
		})
	}
	if len(problems) > 0 {
		return nil, &InputError{Problems: problems}
	}
	return out, nil
}

// mapGroups turns group DNs into portal group names: the first value of
// the DN (its CN), renamed by GroupMap.
func (c LDAPConfig) mapGroups(dns []string) []string {
	var out []string
	for _, dn := range dns {
		name := dn
		if d, err := ldap.ParseDN(dn); err == nil && len(d.RDNs) > 0 && len(d.RDNs[0].Attributes) > 0 {
			name = d.RDNs[0].Attributes[0].Value
		}
		mapped, ok := "", false
		for k, v := range c.GroupMap {
			if strings.EqualFold(k, name) || strings.EqualFold(k, dn) {
				mapped, ok = v, true
				break
			}
		}
		switch {
		case ok:
			out = append(out, mapped)
		case !c.OnlyMappedGroups:
			out = append(out, name)
		}
	}
	return out
}

// dnKey is a DN in one spelling, so a member value and an entry's DN
// compare equal whatever their case and spacing.
func dnKey(dn string) (string, error) {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, r := range d.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, a := range r.Attributes {
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(strings.ToLower(a.Type))
			b.WriteByte('=')
			b.WriteString(strings.ToLower(a.Value))
		}
	}
	return b.String(), nil
}
