// Package ldaptest runs a real OpenLDAP server (Debian's slapd) for
// tests: its own config and mdb database in a temp dir, the directory
// loaded with slapadd before start, listening on loopback only. There is
// no system service to rely on, in CI neither.
package ldaptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Suffix is the directory's base; AdminDN binds with AdminPassword and
// is above every limit, ServiceDN with ServicePassword is an ordinary
// account as an importer would use.
const (
	Suffix          = "dc=stadt,dc=example"
	AdminDN         = "cn=admin," + Suffix
	AdminPassword   = "geheim-für-tests"
	ServiceDN       = "cn=dienstweg-sync," + Suffix
	ServicePassword = "auch-geheim"
)

// Options shape a server.
type Options struct {
	// LDIF is loaded with slapadd before the server starts; Suffix and
	// its OUs (ou=people, ou=groups) are always there.
	LDIF string
	// SizeLimit is the most entries one search without paging may
	// return (0: slapd's default, 500). Paged searches are not limited,
	// so a test can show that an importer pages.
	SizeLimit int
	// MemberOf loads slapd's memberof overlay, which keeps memberOf on
	// people as Active Directory does, for groups added or changed while
	// the server runs (slapadd bypasses it).
	MemberOf bool
	// TLS gives the server a certificate from a CA of its own
	// (Server.CAFile) for StartTLS and an ldaps:// listener
	// (Server.LDAPSURL).
	TLS bool
}

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:PORT.
	URL string
	// LDAPSURL is ldaps://127.0.0.1:PORT with Options.TLS, signed by the
	// CA in CAFile (PEM).
	LDAPSURL, CAFile string
	dir              string
	cmd              *exec.Cmd
	log              *syncBuffer
	// exited receives the result of Wait; stopOnce guards it.
	exited   chan error
	stopOnce sync.Once
}

func need(tb testing.TB, name string) string {
	tb.Helper()
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	tb.Fatalf("ldaptest: %s not found: install the Debian package slapd (scripts/deps.sh)", name)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// schemaDir and moduleDir are where Debian's slapd puts them.
const (
	schemaDir = "/etc/ldap/schema"
	moduleDir = "/usr/lib/ldap"
)

// Start runs slapd with opts until the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	slapd, slapadd := need(tb, "slapd"), need(tb, "slapadd")
	if !fileExists(filepath.Join(schemaDir, "inetorgperson.schema")) {
		tb.Fatalf("ldaptest: %s has no inetorgperson.schema: install the Debian package slapd (scripts/deps.sh)", schemaDir)
	}
	// Not t.TempDir: as root, slapd drops to the openldap user, which
	// must reach the directory; t.TempDir's parents are private.
	dir, err := os.MkdirTemp("", "ldaptest-")
	if err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}

	conf := filepath.Join(dir, "slapd.conf")
	var c strings.Builder
	for _, s := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&c, "include %s/%s.schema\n", schemaDir, s)
	}
	fmt.Fprintf(&c, "pidfile %s/slapd.pid\nargsfile %s/slapd.args\n", dir, dir)
	fmt.Fprintf(&c, "modulepath %s\nmoduleload back_mdb\n", moduleDir)
	if opts.MemberOf {
		fmt.Fprintf(&c, "moduleload memberof\n")
	}
	var caFile string
	if opts.TLS {
		var tlsConf string
		caFile, tlsConf = writeTLS(tb, dir)
		c.WriteString(tlsConf)
	}
	if opts.SizeLimit > 0 {
		// size.pr: paged searches may return everything, page by page.
		fmt.Fprintf(&c, "sizelimit size.soft=%d size.hard=%d size.pr=unlimited size.prtotal=unlimited\n", opts.SizeLimit, opts.SizeLimit)
	}
	fmt.Fprintf(&c, "database mdb\nmaxsize 67108864\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s\n", Suffix, AdminDN, AdminPassword, db)
	if opts.MemberOf {
		c.WriteString("overlay memberof\nmemberof-refint true\n")
	}
	if err := os.WriteFile(conf, []byte(c.String()), 0o600); err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}

	ldif := filepath.Join(dir, "data.ldif")
	base := "dn: " + Suffix + "\nobjectClass: dcObject\nobjectClass: organization\ndc: stadt\no: Stadt Beispiel\n\n" +
		"dn: ou=people," + Suffix + "\nobjectClass: organizationalUnit\nou: people\n\n" +
		"dn: ou=groups," + Suffix + "\nobjectClass: organizationalUnit\nou: groups\n\n" +
		"dn: " + ServiceDN + "\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: dienstweg-sync\nuserPassword: " + ServicePassword + "\n\n"
	if err := os.WriteFile(ldif, []byte(base+opts.LDIF), 0o600); err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	if out, err := exec.Command(slapadd, "-q", "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		tb.Fatalf("ldaptest: slapadd: %v\n%s", err, out)
	}

	args := []string{"-d", "0", "-f", conf}
	if os.Geteuid() == 0 {
		// slapd as root drops to openldap; it then needs its files.
		u, err := user.Lookup("openldap")
		if err != nil {
			tb.Fatalf("ldaptest: running as root needs the openldap user that the slapd package creates: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		err = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			tb.Fatalf("ldaptest: %v", err)
		}
		args = append(args, "-u", "openldap", "-g", "openldap")
	}

	// A free port: slapd cannot report the one it got. Another process
	// may take it meanwhile, then start tries again.
	for attempt := 0; ; attempt++ {
		port := freePort(tb)
		s := &Server{URL: "ldap://127.0.0.1:" + strconv.Itoa(port), dir: dir, log: &syncBuffer{}, CAFile: caFile}
		listen := s.URL + "/"
		if opts.TLS {
			s.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(freePort(tb))
			listen += " " + s.LDAPSURL + "/"
		}
		s.cmd = exec.Command(slapd, append([]string{"-h", listen}, args...)...)
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		if err := s.cmd.Start(); err != nil {
			tb.Fatalf("ldaptest: starting slapd: %v", err)
		}
		exited := make(chan error, 1)
		s.exited = exited
		go func() { exited <- s.cmd.Wait() }()
		if err := waitListening(port, exited); err != nil {
			s.cmd.Process.Kill()
			if attempt < 3 && strings.Contains(s.log.String(), "Address already in use") {
				continue
			}
			tb.Fatalf("ldaptest: slapd did not start: %v\n%s", err, s.log.String())
		}
		tb.Cleanup(s.Stop)
		return s
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(port int, exited <-chan error) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("slapd exited: %v", err)
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not listening on port %d after 20 s", port)
}

// Stop ends the server and waits until it has exited (so its port
// refuses connections), e.g. to show what a client does when the
// directory is unreachable. It is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.cmd.Process.Kill()
		<-s.exited
	})
}

// Log is what slapd printed.
func (s *Server) Log() string { return s.log.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Person is one user for People.
type Person struct {
	UID, CN string
}

// People returns LDIF for inetOrgPersons under ou=people.
func People(ps ...Person) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn:: %s\nsn: %s\n\n",
			p.UID, Suffix, p.UID, b64(p.CN), p.UID)
	}
	return b.String()
}

// Group returns LDIF for a groupOfNames under ou=groups whose members
// are the given uids.
func Group(cn string, uids ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n", cn, Suffix, cn)
	for _, u := range uids {
		fmt.Fprintf(&b, "member: uid=%s,ou=people,%s\n", u, Suffix)
	}
	return b.String() + "\n"
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Admin returns a connection bound as AdminDN, to change the directory
// while the test runs, as its administrators would.
func (s *Server) Admin(tb testing.TB) *ldap.Conn {
	tb.Helper()
	return s.Conn(tb, AdminDN, AdminPassword)
}

// Conn returns a connection bound as dn.
func (s *Server) Conn(tb testing.TB, dn, password string) *ldap.Conn {
	tb.Helper()
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		tb.Fatalf("ldaptest: connecting: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Bind(dn, password); err != nil {
		tb.Fatalf("ldaptest: bind as %s: %v", dn, err)
	}
	return c
}

// PersonDN is the DN People gives uid.
func PersonDN(uid string) string { return "uid=" + uid + ",ou=people," + Suffix }

// GroupDN is the DN Group gives cn.
func GroupDN(cn string) string { return "cn=" + cn + ",ou=groups," + Suffix }
