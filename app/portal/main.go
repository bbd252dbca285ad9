// Command dienstweg-portal runs the organisation's portal and administers
// it: users, announcements, releases and devices. See docs/portal.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // the organisation's time zone must load on any host

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dienstweg/dienstweg/internal/org/opsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/sealing"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/profile"
)

const usage = `usage: dienstweg-portal COMMAND [flags]

commands:
  serve [--data DIR] [--listen ADDR] [--metrics ADDR] …        run the portal
  demo [--dir DIR]                                              run the demo organisation, write DIR/profile.json
  user add NAME [--display-name N] [--groups a,b] [--valid D]  add a user, print the activation code once
  user code NAME [--valid D]                                    issue a new activation code (lost letter, new laptop)
  user list                                                     list users
  directory sync --config F [--dry-run] [--max-disable N|P%]    import and sync users and groups from LDAP/AD
  directory import-csv FILE [--dry-run] [--max-disable N|P%]    import users from CSV: user,display name,groups (a;b)
  letters --out F.pdf [--not-enrolled | NAME…] [--profile P]   issue new activation codes and print the letters
  announce post|edit --id ID …                                  publish or change an announcement
  announce expire --id ID                                       end an announcement now
  announce list                                                 list announcements
  release publish --channel C --manifest F [--sig F.minisig] [--keys F] FILES…
  device list | device revoke ID                                list devices, disable a lost laptop
  audit export [--since T] [--after-id N]                       write the audit log as JSON lines
  keys rotate                                                   new key for the TOTP secrets, re-seal them all
  gateway key | cert | serve                                    gateways of their own, see "gateway help"
  console-user add NAME --role it|helpdesk                      add a web console account (password on stdin), print its authenticator setup

Every command but demo takes --data DIR (default /var/lib/dienstweg-portal)
and --key-file F (default DIR-keys/secrets.key). The database is
DIR/portal.db (SQLite) unless DIENSTWEG_PORTAL_DATABASE names a PostgreSQL
database (postgres://USER@HOST/DB), see docs/portal.md.
Run "dienstweg-portal COMMAND -h" for the flags of a command.
`

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dienstweg-portal:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return errors.New("no command")
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		sub = rest[0]
	}
	switch {
	case cmd == "serve":
		return serve(rest, out)
	case cmd == "demo":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runDemo(ctx, rest, out)
	case cmd == "user" && sub == "add":
		return userAdd(rest[1:], out)
	case cmd == "user" && sub == "code":
		return userCode(rest[1:], out)
	case cmd == "user" && sub == "list":
		return userList(rest[1:], out)
	case cmd == "directory" && sub == "sync":
		return directorySync(rest[1:], out)
	case cmd == "directory" && sub == "import-csv":
		return directoryImportCSV(rest[1:], out)
	case cmd == "letters":
		return printLetters(rest, out)
	case cmd == "announce" && (sub == "post" || sub == "edit"):
		return announce(sub, rest[1:], out)
	case cmd == "announce" && sub == "expire":
		return announceExpire(rest[1:], out)
	case cmd == "announce" && sub == "list":
		return announceList(rest[1:], out)
	case cmd == "release" && sub == "publish":
		return releasePublish(rest[1:], out)
	case cmd == "device" && sub == "list":
		return deviceList(rest[1:], out)
	case cmd == "device" && sub == "revoke":
		return deviceRevoke(rest[1:], out)
	case cmd == "audit" && sub == "export":
		return auditExport(rest[1:], out)
	case cmd == "console-user" && sub == "add":
		return consoleUserAdd(rest[1:], out)
	case cmd == "keys" && sub == "rotate":
		return keysRotate(rest[1:], out)
	case cmd == "gateway":
		return gatewayCmd(rest, out)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(out, usage)
	return fmt.Errorf("unknown command %q", strings.TrimSpace(cmd+" "+sub))
}

const defaultData = "/var/lib/dienstweg-portal"

// flags returns a flag set with --data and --key-file (read by
// openStore); parse with parse.
func flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	data := fs.String("data", defaultData, "data directory (database, TLS, releases)")
	fs.String("key-file", "", "key file sealing the TOTP secrets in the database (default: DATA-keys/secrets.key, created if missing)")
	return fs, data
}

// keyFilePath is --key-file, by default beside the data directory rather
// than in it, so a backup of the data directory holds no key.
func keyFilePath(fs *flag.FlagSet) string {
	data := fs.Lookup("data").Value.String()
	if kf := fs.Lookup("key-file").Value.String(); kf != "" {
		return kf
	}
	return filepath.Clean(data) + "-keys/secrets.key"
}

// parse parses args, allowing flags after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openStore opens the store of the command's --data with its secrets
// sealed under --key-file.
func openStore(fs *flag.FlagSet) (store.Store, error) {
	raw, err := openRawStore(fs.Lookup("data").Value.String())
	if err != nil {
		return nil, err
	}
	keys, err := sealing.Open(keyFilePath(fs))
	if err != nil {
		raw.Close()
		return nil, err
	}
	st, err := store.SealWith(context.Background(), raw, keys)
	if err != nil {
		raw.Close()
		return nil, err
	}
	return st, nil
}

// envDatabase names a PostgreSQL database that replaces DIR/portal.db,
// as a postgres:// URL or key=value list (docs/portal.md). An environment
// variable, not a flag: a password in it stays out of the process list,
// and every command (serve, user, announce …) reaches the same database.
const envDatabase = "DIENSTWEG_PORTAL_DATABASE"

// openRawStore opens the database of data, unsealed.
func openRawStore(data string) (store.Store, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	// The portal's own process serves everything in it; nobody else needs
	// to look into the directory of its database and CA key.
	fi, err := os.Stat(data)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(data, 0o700); err != nil {
			return nil, fmt.Errorf("restricting access to the data dir: %w", err)
		}
	}
	// Explicit nils: a nil *SQLite in a Store would not be a nil Store.
	if conn := os.Getenv(envDatabase); conn != "" {
		st, err := store.OpenPostgres(context.Background(), conn)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	st, err := store.OpenSQLite(context.Background(), filepath.Join(data, "portal.db"))
	if err != nil {
		return nil, err
	}
	return st, nil
}

func serve(args []string, out io.Writer) error {
	fs, data := flags("serve")
	var (
		listen         = fs.String("listen", ":8443", "listen address")
		devHTTP        = fs.Bool("dev-http", false, "plain HTTP, only on a loopback address, for development")
		hostnames      = fs.String("hostname", "", "comma-separated names/IPs the generated certificate covers (besides localhost)")
		certFile       = fs.String("cert", "", "use this certificate (PEM) instead of generating one")
		keyFile        = fs.String("key", "", "key for --cert")
		caFile         = fs.String("ca", "", "CA that clients pin, with --cert")
		issuer         = fs.String("issuer", "Dienstweg", "name shown in authenticator apps, e.g. \"Stadt Musterstadt\"")
		gwEnd          = fs.String("gateway-endpoint", "", "gateway UDP host:port handed to devices")
		gwKey          = fs.String("gateway-key", "", "gateway WireGuard public key (base64)")
		gateways       gatewayList
		pool           = fs.String("pool", "10.77.0.0/16", "device address pool (CIDR)")
		dns            = fs.String("dns", "", "comma-separated DNS servers reached through the tunnel")
		search         = fs.String("search", "", "comma-separated DNS search domains")
		routes         = fs.String("routes", "", "comma-separated office networks routed through the tunnel (default: the pool)")
		sessEnd        = fs.String("session-end", "20:00", "local time at which a day's session authorisation ends")
		hours          = fs.String("hours", "", "working-hours rules per group (JSON, see docs/working-hours.md); they override --session-end for the groups they name")
		tz             = fs.String("timezone", "Europe/Berlin", "the organisation's time zone")
		inflight       = fs.Int("max-inflight", 128, "requests handled at once before answering 503")
		perSource      = fs.Int("max-conns-per-source", 1024, "open connections one client address (IPv6: /64) may hold; raise it for a large NAT, -1 for no cap")
		metrics        = fs.String("metrics", "", "serve /metrics, /healthz and /readyz in plain HTTP on this address, e.g. 127.0.0.1:9187; keep it off the public network (empty: off)")
		proxies        = fs.String("trusted-proxies", "", "comma-separated addresses/CIDRs of load balancers that send a PROXY protocol v2 header (HAProxy send-proxy-v2); their connections must carry one")
		consoleProfile = fs.String("profile", profile.DefaultPath(), "organisation profile whose name and IT service contact the console prints on activation letters (optional)")
		queueWait      = fs.Duration("queue-wait", 50*time.Millisecond, "how long a request waits for one of --max-inflight before it is answered 503")
	)
	fs.Var(&gateways, "gateway", "a gateway of its own, HOST:PORT=PUBLICKEY; repeat for several, in the order devices try them (instead of --gateway-endpoint/--gateway-key)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := serveConfig(*issuer, *gwEnd, *gwKey, *pool, *dns, *search, *routes, *sessEnd, *tz, *inflight)
	if err != nil {
		return err
	}
	if err := useGateways(&cfg, gateways, *data); err != nil {
		return err
	}
	if *hours != "" {
		if cfg.Hours, err = portalsrv.LoadHours(*hours); err != nil {
			return err
		}
	}
	cfg.ReleaseDir = filepath.Join(*data, "releases")
	cfg.MaxConnsPerSource = *perSource
	cfg.QueueWait = *queueWait
	if cfg.TrustedProxies, err = parsePrefixes(*proxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := portalsrv.New(cfg, st)
	if err != nil {
		return err
	}
	if err := mountConsole(srv, st, *consoleProfile, *issuer); err != nil {
		return err
	}
	if *metrics != "" {
		mln, err := net.Listen("tcp", *metrics)
		if err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
		go func() {
			err := opsrv.Serve(ctx, mln, opsrv.Config{Collectors: []prometheus.Collector{srv.Collector()}, Ready: srv.Ready})
			if err != nil {
				slog.Error("metrics endpoint stopped", "err", err)
			}
		}()
		fmt.Fprintf(out, "metrics and health on http://%s/metrics, /healthz, /readyz\n", mln.Addr())
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if *devHTTP {
		fmt.Fprintf(out, "development mode: plain HTTP on %s\n", ln.Addr())
		return srv.Serve(ctx, ln, nil)
	}
	var mat *portalsrv.TLSMaterial
	if *certFile != "" {
		mat, err = portalsrv.LoadTLS(*certFile, *keyFile, *caFile)
	} else {
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		for _, h := range strings.Split(*hostnames, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hosts = append(hosts, h)
			}
		}
		mat, err = portalsrv.LoadOrCreateTLS(filepath.Join(*data, "tls"), hosts, time.Now())
	}
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(out, "portal on https://%s\nweb console on https://%s/console/\n\nPortal CA (for the profile's portal_ca):\n%s", ln.Addr(), ln.Addr(), mat.CAPEM)
	slog.Info("portal started", "listen", ln.Addr().String())
	err = srv.Serve(ctx, ln, mat.Config())
	// What this instance did, for the operator (and the herd benchmark).
	n := srv.Stats()
	slog.Info("portal stopped", "served", n.Served, "shed", n.Shed, "body_timeouts", n.BodyTimeouts,
		"slow_downloads", n.SlowDownloads, "refused_conns", n.RefusedConns)
	return err
}

func serveConfig(issuer, gwEnd, gwKey, pool, dns, search, routes, sessEnd, tz string, inflight int) (portalsrv.Config, error) {
	var cfg portalsrv.Config
	p, err := netip.ParsePrefix(pool)
	if err != nil {
		return cfg, fmt.Errorf("--pool: %w", err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return cfg, fmt.Errorf("--timezone: %w", err)
	}
	hm, err := time.Parse("15:04", sessEnd)
	if err != nil {
		return cfg, fmt.Errorf("--session-end wants HH:MM: %w", err)
	}
	t := portalsrv.TunnelConfig{Pool: p, GatewayEndpoint: gwEnd, GatewayPublicKey: gwKey, SearchDomains: splitList(search), KeepaliveSeconds: 25}
	for _, s := range splitList(dns) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return cfg, fmt.Errorf("--dns: %w", err)
		}
		t.DNS = append(t.DNS, a)
	}
	for _, s := range splitList(routes) {
		r, err := netip.ParsePrefix(s)
		if err != nil {
			return cfg, fmt.Errorf("--routes: %w", err)
		}
		t.AllowedIPs = append(t.AllowedIPs, r)
	}
	if len(t.AllowedIPs) == 0 {
		t.AllowedIPs = []netip.Prefix{p.Masked()}
	}
	cfg.Issuer = issuer
	cfg.Tunnel = t
	cfg.Location = loc
	cfg.SessionEnd = time.Duration(hm.Hour())*time.Hour + time.Duration(hm.Minute())*time.Minute
	cfg.MaxInFlight = inflight
	return cfg, nil
}

// parsePrefixes reads comma-separated CIDRs or single addresses.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range splitList(s) {
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func userAdd(args []string, out io.Writer) error {
	fs, _ := flags("user add")
	display := fs.String("display-name", "", "name shown to the user (default: NAME)")
	groups := fs.String("groups", "", "comma-separated groups (announcement audiences)")
	valid := fs.Duration("valid", portalsrv.DefaultActivationTTL, "how long the activation code is valid")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("user add needs exactly one NAME")
	}
	name := portalsrv.NormaliseUser(pos[0])
	if err := portalsrv.ValidateUserName(name); err != nil {
		return err
	}
	if *display == "" {
		*display = pos[0]
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	if err := st.CreateUser(ctx, store.User{Name: name, DisplayName: *display, Groups: splitList(*groups), CreatedAt: now}); err != nil {
		return err
	}
	if err := printCode(ctx, st, name, now, *valid, out); err != nil {
		return err
	}
	return auditAdmin(ctx, st, "admin.user.add", name, map[string]string{"groups": *groups})
}

func userCode(args []string, out io.Writer) error {
	fs, _ := flags("user code")
	valid := fs.Duration("valid", portalsrv.DefaultActivationTTL, "how long the activation code is valid")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("user code needs exactly one NAME")
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	name := portalsrv.NormaliseUser(pos[0])
	u, err := st.User(ctx, name)
	if err != nil {
		return err
	}
	if u.Disabled() {
		return fmt.Errorf("user %s is disabled (left the directory); the portal would refuse the code", name)
	}
	if err := printCode(ctx, st, name, time.Now(), *valid, out); err != nil {
		return err
	}
	return auditAdmin(ctx, st, "admin.user.code", name, nil)
}

func printCode(ctx context.Context, st store.Store, name string, now time.Time, valid time.Duration, out io.Writer) error {
	code, err := portalsrv.IssueActivationCode(ctx, st, name, now, valid)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "user:            %s\nactivation code: %s\nvalid until:     %s\n(shown only now; it is stored hashed)\n",
		name, code, now.Add(valid).Format("2006-01-02 15:04"))
	return nil
}

func userList(args []string, out io.Writer) error {
	fs, _ := flags("user list")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.Users(context.Background())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tGROUPS\tENROLLED\tSOURCE")
	for _, u := range users {
		enrolled := "-"
		if !u.EnrolledAt.IsZero() {
			enrolled = u.EnrolledAt.Local().Format("2006-01-02 15:04")
		}
		if u.Disabled() {
			enrolled = "disabled " + u.DisabledAt.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.DisplayName, strings.Join(u.Groups, ","), enrolled, u.Source)
	}
	return tw.Flush()
}

// timeFlag parses RFC 3339 or "2006-01-02 15:04" (local time).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02 15:04", s, time.Local)
}

func announce(mode string, args []string, out io.Writer) error {
	fs, _ := flags("announce " + mode)
	id := fs.String("id", "", "announcement id (required)")
	sev := fs.String("severity", "", "info, maintenance or outage")
	titleDE := fs.String("title-de", "", "German title")
	titleEN := fs.String("title-en", "", "English title")
	bodyDE := fs.String("body-de", "", "German text")
	bodyEN := fs.String("body-en", "", "English text")
	from := fs.String("from", "", `valid from (RFC 3339 or "2006-01-02 15:04"; default now)`)
	until := fs.String("until", "", "valid until (default: from + 7 days)")
	audience := fs.String("audience", "", `"all" (default) or comma-separated groups`)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return errors.New("--id is required")
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	a, err := st.Announcement(ctx, *id)
	switch {
	case mode == "edit" && err != nil:
		return err
	case mode == "post" && err == nil:
		return fmt.Errorf("announcement %q exists; use announce edit", *id)
	case mode == "post":
		a = store.Announcement{ID: *id, Severity: "info", ValidFrom: now, Audience: []string{portalsrv.AudienceAll}}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&a.Severity, *sev)
	set(&a.TitleDE, *titleDE)
	set(&a.TitleEN, *titleEN)
	set(&a.BodyDE, *bodyDE)
	set(&a.BodyEN, *bodyEN)
	if *from != "" {
		if a.ValidFrom, err = parseTime(*from); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
	}
	if *until != "" {
		if a.ValidUntil, err = parseTime(*until); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	} else if a.ValidUntil.IsZero() {
		a.ValidUntil = a.ValidFrom.Add(7 * 24 * time.Hour)
	}
	if *audience != "" {
		a.Audience = splitList(*audience)
	}
	a.UpdatedAt = now
	if err := portalsrv.ValidateAnnouncement(a); err != nil {
		return err
	}
	if err := st.PutAnnouncement(ctx, a); err != nil {
		return err
	}
	if err := auditAdmin(ctx, st, "admin.announce."+mode, a.ID, map[string]string{"severity": a.Severity}); err != nil {
		return err
	}
	fmt.Fprintf(out, "announcement %s saved (%s, %s – %s, audience %s)\n", a.ID, a.Severity,
		a.ValidFrom.Local().Format("2006-01-02 15:04"), a.ValidUntil.Local().Format("2006-01-02 15:04"), strings.Join(a.Audience, ","))
	return nil
}

func announceExpire(args []string, out io.Writer) error {
	fs, _ := flags("announce expire")
	id := fs.String("id", "", "announcement id (required)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	a, err := st.Announcement(ctx, *id)
	if err != nil {
		return err
	}
	now := time.Now().Truncate(time.Second)
	a.ValidUntil, a.UpdatedAt = now, now
	if a.ValidFrom.After(now) {
		a.ValidFrom = now.Add(-time.Second)
	}
	if err := st.PutAnnouncement(ctx, a); err != nil {
		return err
	}
	if err := auditAdmin(ctx, st, "admin.announce.expire", a.ID, nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "announcement %s expired\n", a.ID)
	return nil
}

func announceList(args []string, out io.Writer) error {
	fs, _ := flags("announce list")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Announcements(context.Background())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tFROM\tUNTIL\tAUDIENCE\tTITLE")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Severity, a.ValidFrom.Local().Format("2006-01-02 15:04"),
			a.ValidUntil.Local().Format("2006-01-02 15:04"), strings.Join(a.Audience, ","), a.TitleDE)
	}
	return tw.Flush()
}

func releasePublish(args []string, out io.Writer) error {
	fs, data := flags("release publish")
	channel := fs.String("channel", "stable", "update channel")
	manifest := fs.String("manifest", "", "signed manifest file (required)")
	sig := fs.String("sig", "", "minisign signature (default: MANIFEST.minisig)")
	keysFile := fs.String("keys", "", "the organisation's minisign update keys, one per line (default: DATA/"+updateKeysFile+")")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *manifest == "" {
		return errors.New("--manifest is required")
	}
	if *sig == "" {
		*sig = *manifest + ".minisig"
	}
	if *keysFile == "" {
		*keysFile = filepath.Join(*data, updateKeysFile)
	}
	m, err := os.ReadFile(*manifest)
	if err != nil {
		return err
	}
	s, err := os.ReadFile(*sig)
	if err != nil {
		return err
	}
	keys, err := loadUpdateKeys(*keysFile)
	if err != nil {
		return err
	}
	if err := verifyRelease(keys, *channel, m, s, files, filepath.Join(*data, "releases", *channel), time.Now()); err != nil {
		return err
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := portalsrv.PublishRelease(context.Background(), st, filepath.Join(*data, "releases"), *channel, m, s, files, time.Now()); err != nil {
		return err
	}
	if err := auditAdmin(context.Background(), st, "admin.release.publish", *channel, map[string]string{"manifest": filepath.Base(*manifest)}); err != nil {
		return err
	}
	fmt.Fprintf(out, "published on channel %s: manifest %s, %d file(s)\n", *channel, filepath.Base(*manifest), len(files))
	return nil
}

func deviceList(args []string, out io.Writer) error {
	fs, _ := flags("device list")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	devs, err := st.Devices(context.Background())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tNAME\tADDRESS\tAUTHORISED UNTIL\tSTATE")
	now := time.Now()
	for _, d := range devs {
		until, state := "-", "active"
		if d.AuthorisedUntil.After(now) {
			until = d.AuthorisedUntil.Local().Format("2006-01-02 15:04")
		}
		if !d.RevokedAt.IsZero() {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.User, d.Name, d.Address, until, state)
	}
	return tw.Flush()
}

func deviceRevoke(args []string, out io.Writer) error {
	fs, _ := flags("device revoke")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("device revoke needs exactly one device ID")
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeDevice(context.Background(), pos[0], time.Now()); err != nil {
		return err
	}
	if err := auditAdmin(context.Background(), st, portalsrv.AuditDeviceRevoke, pos[0], nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "device %s revoked\n", pos[0])
	return nil
}
