// Package demo runs the demo organisation "Musterstadt": the reference
// portal on loopback with its own CA, a SQLite file in a directory the
// caller chooses, demo users and demo announcements, and the gateway with
// the demo intranet behind it. `dienstweg-portal demo` runs it in a
// process of its own; tests run it in theirs.
package demo

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/sealing"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// Org is a running demo organisation.
type Org struct {
	// PortalURL is https://127.0.0.1:PORT.
	PortalURL string
	// CAPEM is the PEM of the portal's CA, for profile.PortalCA.
	CAPEM string
	// Users are the demo users, each with a fresh, valid activation code.
	Users []User
	// Server is the running portal (e.g. for AuthorisedPeers).
	Server *portalsrv.Server
	// Store is the portal's store.
	Store store.Store
	// Tunnel is what devices are told about the gateway.
	Tunnel portalsrv.TunnelConfig
	// GatewayPrivateKey is the base64 WireGuard private key whose public
	// key devices get; the demo gateway uses it. It persists in
	// dir so devices registered in earlier runs keep working.
	GatewayPrivateKey string
	// Gateway is the running demo gateway with the intranet behind it.
	Gateway *gateway.Gateway

	cancel    context.CancelFunc
	done      chan error
	closeOnce sync.Once
	closeErr  error
}

// User is a demo user.
type User struct {
	Name, DisplayName, ActivationCode string
}

// Demo organisation data.
var demoUsers = []struct {
	name, display string
	groups        []string
}{
	{"anna.schmidt", "Anna Schmidt", []string{"buergerbuero"}},
	{"bernd.meier", "Bernd Meier", []string{"bauamt"}},
	{"clara.yilmaz", "Clara Yılmaz", []string{"it"}},
}

// DemoHours are the demo's working hours (IT-Grundschutz NET.3.3): the
// building authority works Monday to Friday, 6:00 to 19:00, and may extend
// until 21:00; IT is on call around the clock. Other groups (Anna Schmidt's
// citizens' office) have no rule, so the demo works at any hour; their day
// ends at 20:00, or two hours after a later start.
var DemoHours = portalsrv.Hours{Rules: []portalsrv.HoursRule{
	{Groups: []string{"bauamt"}, Weekdays: []string{"mo", "di", "mi", "do", "fr"}, From: "06:00", End: "19:00", Latest: "21:00", ExtendMinutes: 60},
	{Groups: []string{"it"}, From: "00:00", End: "24:00", ExtendMinutes: 120},
}}

// Demo network: the gateway (and the intranet's DNS and web server behind
// it) is 10.77.0.1; devices get 10.77.0.10 and up.
var (
	demoPool    = netip.MustParsePrefix("10.77.0.0/16")
	demoFirst   = netip.MustParseAddr("10.77.0.10")
	demoGateway = netip.MustParseAddr("10.77.0.1")
	// DemoSearchDomain is the office DNS domain behind the tunnel.
	DemoSearchDomain = "musterstadt.example"
)

// Start runs the Musterstadt demo portal on 127.0.0.1 (random port, HTTPS
// with its own CA, SQLite under dir) until ctx ends or Close is called.
func Start(ctx context.Context, dir string) (*Org, error) {
	return StartAt(ctx, dir, "127.0.0.1:0")
}

// StartAt is Start on a chosen loopback address, for
// `dienstweg-portal demo --listen`.
func StartAt(ctx context.Context, dir, listen string) (*Org, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo dir: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("demo portal: %w", err)
	}
	ap, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil || !ap.Addr().IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("demo portal must listen on loopback, not %s", ln.Addr())
	}
	o, err := start(ctx, dir, ln)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return o, nil
}

func start(ctx context.Context, dir string, ln net.Listener) (*Org, error) {
	state, err := loadState(dir)
	if err != nil {
		return nil, err
	}
	pub, err := publicKey(state.GatewayPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("demo gateway key: %w", err)
	}
	// The endpoint names the saved port (0 on the first run) until the
	// gateway is up with its own.
	tunnel := portalsrv.TunnelConfig{
		Pool:             demoPool,
		First:            demoFirst,
		DNS:              []netip.Addr{demoGateway},
		SearchDomains:    []string{DemoSearchDomain},
		GatewayEndpoint:  fmt.Sprintf("127.0.0.1:%d", state.GatewayPort),
		GatewayPublicKey: pub,
		AllowedIPs:       []netip.Prefix{demoPool},
		KeepaliveSeconds: 25,
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		loc = time.Local
	}
	raw, err := store.OpenSQLite(ctx, filepath.Join(dir, "portal.db"))
	if err != nil {
		return nil, fmt.Errorf("demo store: %w", err)
	}
	// The demo seals its secrets as a real portal does: a demo directory
	// copied along must not hand out the demo users' secrets either.
	keys, err := sealing.Open(filepath.Join(dir, "keys", "secrets.key"))
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("demo secret keys: %w", err)
	}
	st, err := store.SealWith(ctx, raw, keys)
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("demo store: %w", err)
	}
	fail := func(err error) (*Org, error) {
		st.Close()
		return nil, err
	}
	srv, err := portalsrv.New(portalsrv.Config{
		Issuer:     "Stadt Musterstadt (Demo)",
		Tunnel:     tunnel,
		Location:   loc,
		Hours:      &DemoHours,
		ReleaseDir: filepath.Join(dir, "releases"),
		// Each part names itself in the log (component=portal, =gateway);
		// a second name here printed component= twice on every line.
		Logger: slog.Default(),
	}, st)
	if err != nil {
		return fail(err)
	}
	mat, err := portalsrv.LoadOrCreateTLS(filepath.Join(dir, "tls"), []string{"127.0.0.1", "::1", "localhost"}, time.Now())
	if err != nil {
		return fail(err)
	}
	now := time.Now()
	users, err := seedUsers(ctx, st, now)
	if err != nil {
		return fail(err)
	}
	if err := seedAnnouncements(ctx, st, now, loc); err != nil {
		return fail(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	o := &Org{
		PortalURL:         "https://" + ln.Addr().String(),
		CAPEM:             string(mat.CAPEM),
		Users:             users,
		Server:            srv,
		Store:             st,
		Tunnel:            tunnel,
		GatewayPrivateKey: state.GatewayPrivateKey,
		cancel:            cancel,
		done:              make(chan error, 1),
	}
	// The gateway behind which the demo intranet lives, admitting the
	// peers this portal authorises.
	gcfg := gateway.Config{
		PrivateKey: state.GatewayPrivateKey,
		ListenPort: state.GatewayPort,
		Address:    netip.PrefixFrom(demoGateway, demoPool.Bits()),
		Peers:      srv,
		// Its handshakes show in the console like a gateway of its own's.
		Handshakes: gateway.LocalHandshakes(srv, tunnel.GatewayPublicKey),
		DNS:        gateway.DemoDNS(demoGateway),
		HTTP:       gateway.IntranetHandler("Stadt Musterstadt"),
		// The portal signals every change at once (Subscribe); the poll
		// only catches expiries, and the demo may run all day beside the
		// agent, where a 1 s poll cost 0.2 % CPU.
		PollInterval: time.Minute,
		Logger:       slog.Default(),
	}
	gw, err := gateway.Start(sctx, gcfg)
	if errors.Is(err, syscall.EADDRINUSE) && gcfg.ListenPort != 0 {
		// Something else took the saved port since the last run. Port 0
		// lets the bind pick one that is free for IPv4 and IPv6 at the
		// moment it binds; a port chosen beforehand could be taken again
		// before the gateway gets to it.
		slog.Warn("demo gateway port in use; taking another", "port", gcfg.ListenPort, "err", err)
		gcfg.ListenPort = 0
		gw, err = gateway.Start(sctx, gcfg)
	}
	if err != nil {
		cancel()
		return fail(fmt.Errorf("demo gateway: %w", err))
	}
	// Devices are told the port the gateway really has, and the next run
	// asks for it again so registered devices' endpoints stay right.
	if gw.Port() != state.GatewayPort {
		state.GatewayPort = gw.Port()
		tunnel.GatewayEndpoint = gw.Endpoint()
		o.Tunnel = tunnel
		err := srv.SetTunnel(tunnel)
		if err == nil {
			err = saveState(dir, state)
		}
		if err != nil {
			cancel()
			gw.Close()
			return fail(fmt.Errorf("demo gateway: %w", err))
		}
	}
	o.Gateway = gw
	go func() {
		err := srv.Serve(sctx, ln, mat.Config())
		o.done <- errors.Join(err, gw.Close(), st.Close())
	}()
	return o, nil
}

// Close stops the portal and closes the store. It is idempotent.
func (o *Org) Close() error {
	o.cancel()
	return o.Wait()
}

// Wait blocks until the portal has stopped (ctx ended or Close) and
// returns its error.
func (o *Org) Wait() error {
	o.closeOnce.Do(func() { o.closeErr = <-o.done })
	return o.closeErr
}

// seedUsers creates missing demo users and gives every demo user a fresh
// activation code. Existing enrollments and devices stay: a new code only
// matters when someone enrolls again (e.g. after resetting the client),
// and then it works even if an earlier run used the old code.
func seedUsers(ctx context.Context, st store.Store, now time.Time) ([]User, error) {
	var out []User
	for _, du := range demoUsers {
		err := st.CreateUser(ctx, store.User{Name: du.name, DisplayName: du.display, Groups: du.groups, CreatedAt: now})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("demo user %s: %w", du.name, err)
		}
		code, err := portalsrv.IssueActivationCode(ctx, st, du.name, now, 30*24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("demo user %s: %w", du.name, err)
		}
		out = append(out, User{Name: du.name, DisplayName: du.display, ActivationCode: code})
	}
	return out, nil
}

// seedAnnouncements (re)writes the two demo announcements with validity
// around now.
func seedAnnouncements(ctx context.Context, st store.Store, now time.Time, loc *time.Location) error {
	sat := now.In(loc)
	for sat.Weekday() != time.Saturday {
		sat = sat.AddDate(0, 0, 1)
	}
	y, m, d := sat.Date()
	from := time.Date(y, m, d, 8, 0, 0, 0, loc)
	de := fmt.Sprintf("Am Samstag, %02d.%02d.%d, ist die sichere Verbindung von 8 bis 12 Uhr wegen Wartungsarbeiten nicht verfügbar.", d, int(m), y)
	en := fmt.Sprintf("On Saturday, %d-%02d-%02d, the secure connection is unavailable from 8:00 to 12:00 for maintenance.", y, int(m), d)
	start := now.Add(-time.Hour).Truncate(time.Second)
	for _, a := range []store.Announcement{
		{
			ID:         "demo-maintenance",
			Severity:   "maintenance",
			TitleDE:    "Wartung am Samstag",
			TitleEN:    "Maintenance on Saturday",
			BodyDE:     de,
			BodyEN:     en,
			ValidFrom:  start,
			ValidUntil: from.Add(4 * time.Hour),
			Audience:   []string{portalsrv.AudienceAll},
			UpdatedAt:  start,
		},
		{
			ID:         "demo-welcome",
			Severity:   "info",
			TitleDE:    "Willkommen im Homeoffice",
			TitleEN:    "Welcome to home office",
			BodyDE:     "Dies ist die Demo der Stadt Musterstadt. Hier lesen Sie Mitteilungen der IT, zum Beispiel zu Wartungen oder Störungen.",
			BodyEN:     "This is the demo of the city of Musterstadt. Here you read messages from IT, for example about maintenance or outages.",
			ValidFrom:  start,
			ValidUntil: start.Add(30 * 24 * time.Hour),
			Audience:   []string{portalsrv.AudienceAll},
			UpdatedAt:  start,
		},
	} {
		if err := portalsrv.ValidateAnnouncement(a); err != nil {
			return err
		}
		if err := st.PutAnnouncement(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// stateFile holds the state in the demo's dir.
const stateFile = "demo-gateway.json"

// state is what the demo keeps across runs besides the database.
type state struct {
	GatewayPrivateKey string `json:"gateway_private_key"`
	GatewayPort       int    `json:"gateway_port"`
}

// loadState reads the demo's state from dir, making and saving a gateway
// key on the first run. GatewayPort is 0 until a gateway has run.
func loadState(dir string) (state, error) {
	path := filepath.Join(dir, stateFile)
	var s state
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("reading %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return s, fmt.Errorf("reading demo state: %w", err)
	}
	if s.GatewayPrivateKey != "" {
		return s, nil
	}
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return s, fmt.Errorf("demo gateway key: %w", err)
	}
	s.GatewayPrivateKey = base64.StdEncoding.EncodeToString(k.Bytes())
	return s, saveState(dir, s)
}

func saveState(dir string, s state) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("writing demo state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile), b, 0o600); err != nil {
		return fmt.Errorf("writing demo state: %w", err)
	}
	return nil
}

func publicKey(priv string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(priv))
	if err != nil {
		return "", err
	}
	k, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(k.PublicKey().Bytes()), nil
}
