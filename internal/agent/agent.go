// Package agent is the per-user background process: it owns the client's
// state, serves the local API, shows the tray and starts a ui process
// whenever a window is needed. It never opens a window or initialises
// OpenGL itself, so it idles at a few megabytes.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/desktop"
	"github.com/dienstweg/dienstweg/internal/diag"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/logging"
	"github.com/dienstweg/dienstweg/internal/office"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/redact"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/support"
	"github.com/dienstweg/dienstweg/internal/tray"
	"github.com/dienstweg/dienstweg/internal/update"
	"github.com/dienstweg/dienstweg/internal/version"
)

// Session starts and ends the home-office session. It is declared here,
// where it is used; *session.Controller provides it. Implementations must
// be safe for concurrent use and report progress through Status and
// Events (session.Feed's contract), not through return values alone.
type Session interface {
	Start(ctx context.Context, code string) error
	End(ctx context.Context) error
	Status() session.Status
	Subscribe() (<-chan session.Status, func())
	Events() (<-chan session.Event, func())
}

// Options configures the agent. Zero values mean defaults. The parts are
// embedded, so opts.Profile, opts.Keyring … read as before.
type Options struct {
	Config
	Deps
	TestSwitches
}

// Config is how this agent runs: what main reads from flags, the profile
// and the environment.
type Config struct {
	// Profile is the organisation profile; its demo section, if any, puts
	// the agent in demo mode.
	Profile *profile.Profile
	// Lang is "de" or "en".
	Lang string
	// SocketPath of the local API; "" means localapi.DefaultSocketPath().
	SocketPath string
	// UIExe is the program that shows windows, dienstweg-ui; "" means the
	// one beside this executable (UIExecutable).
	UIExe string
	// OpenAtStart names a window to open at start, "" for none.
	OpenAtStart string
	// Tray shows the tray icon; tests of the API alone turn it off.
	Tray bool
	// Panel selects tray icons for a light or dark panel.
	Panel assets.Panel
	// StateDir holds the agent's non-secret state; "" means
	// logging.StateDir().
	StateDir string
	// LogPath is the agent's log file, for the diagnostics bundle.
	LogPath string
	// CacheDir holds non-secret caches (the announcement feed); "" means
	// the user cache directory.
	CacheDir string
	// SystemTunnel forces the system tunnel through the privileged helper
	// at HelperSocket ("" means its default), whatever the profile's
	// tunnel mode: no fallback to the userspace tunnel.
	SystemTunnel bool
	HelperSocket string
	// SOCKSAddr is where the tunnel's SOCKS5 proxy listens while a session
	// is up, for other programs; "" means none.
	SOCKSAddr string
	// Policy is what IT set and locked on this computer
	// (policy.LoadSystem); nil means none.
	Policy *policy.Policy
	// AutoStart opens the code prompt by itself once per login and day
	// (a restart for an update does not ask again), when this computer
	// is set up, outside the office, not locked out and no session runs
	// (autostart.go). main takes it from the profile's auto_start;
	// central policy may set it.
	AutoStart bool
	// AllowStartInOffice offers home office in the office too; by
	// default the in-office check hides it (profile allow_start_in_office,
	// or policy).
	AllowStartInOffice bool
	// ExpiryWarning is how long before the day's authorisation ends the
	// employee is told, with "Verlängern"; 0 means 15 minutes, negative
	// means no warning (policy expiry_warning_minutes 0).
	ExpiryWarning time.Duration
}

// Deps are the agent's collaborators; nil means the real one.
type Deps struct {
	// Session is the home-office session; nil means the controller built
	// from the profile.
	Session Session
	Logger  *slog.Logger
	// UIOutput receives the ui processes' stdout and stderr; nil discards.
	UIOutput io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Keyring holds the device's secrets; nil means the OS keyring.
	Keyring keyring.Store
	// Portal is the portal client; nil means the one built from the
	// profile.
	Portal *portal.Client
	// Notifier shows desktop notifications; nil means D-Bus.
	Notifier announce.Notifier
	// DesktopEnv is where "Arbeitsplatz öffnen" looks for the clients;
	// zero means this computer's PATH.
	DesktopEnv desktop.Env
}

// TestSwitches change behaviour for tests only; main sets none.
type TestSwitches struct {
	// NoWizardAtStart keeps the wizard closed at start even when the
	// device is not set up (tests of other windows).
	NoWizardAtStart bool
}

// withDefaults fills in what every agent needs, with or without a profile.
func (opts Options) withDefaults() (Options, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SocketPath == "" {
		opts.SocketPath = localapi.DefaultSocketPath()
	}
	if opts.UIExe == "" {
		exe, err := UIExecutable()
		if err != nil {
			return opts, err
		}
		opts.UIExe = exe
	}
	return opts, nil
}

// ErrHandedOver means another agent was already running and has been
// asked to show its window; this process should exit successfully.
var ErrHandedOver = errors.New("another Dienstweg agent is running; it was asked to show its window")

// Agent is the running client; it serves every part of localapi.Backend.
type Agent struct {
	opts    Options
	log     *slog.Logger
	store   *state.Store
	api     *localapi.Server
	windows *windowClaims
	cat     *i18n.Catalog
	quit    context.CancelFunc
	portal  *portal.Client
	enroll  *enroll.Machine
	// closeSession takes the tunnel down at quit but keeps the day's
	// authorisation, so a restart needs no new code.
	closeSession func() error
	announce     *announce.Poller
	engine       engine
	tunnels      *tunnelChooser // nil with a test session
	health       *health.Monitor
	office       *office.Watcher     // nil without the profile's office_check
	supervisor   *session.Controller // nil with a test session
	updater      *update.Updater
	// supportCodeMu: one renewal of the support code at a time
	// (renewSupportCode).
	supportCodeMu sync.Mutex
	restartMu     sync.Mutex
	restart       *update.Installed
	// loginMem is what this login did today, for the agent after a
	// restart (loginmemory.go).
	loginMem *loginMemory

	// settingsSrc are the layers the settings are resolved from; set in
	// New. settingsWrite orders the person's changes; settingsMu guards
	// settings, the effective values.
	settingsSrc   settingsOwner
	settingsWrite sync.Mutex
	settingsMu    sync.Mutex
	settings      policy.Settings

	hostOnce sync.Once

	// projMu guards in, the projection's inputs (project.go).
	projMu sync.Mutex
	in     inputs

	// enrollMu orders the wizard's views into the state (mirrorEnrollment).
	enrollMu       sync.Mutex
	enrollMirrored bool
	enrollSeq      uint64
	// wizardCode is the wizard's current screen code, for reports.
	wizardCode string
	// reportCatalog renders reports in German, for the IT service.
	reportCatalog *i18n.Catalog
	// wizardReady is closed once enroll is set (setWizard), after the
	// start read the keyring.
	wizardReady chan struct{}

	// keyringRaw is the store without redaction, to ask for its state
	// (keyring.Checker) and to unlock it (keyring.Unlocker).
	keyringRaw keyring.Store
	// keyringKick makes the keyring follower look again at once.
	keyringKick chan struct{}
	// hoursKick makes the working-hours follower look again (kickHours).
	hoursKick chan struct{}
	// ctx is Run's context, set before the API serves; nil before Run.
	ctx context.Context
	// bg tracks the unlock prompt (requestUnlock), which a request may
	// start and which must end before Run returns. bgMu guards bgClosed
	// (no new one after Run stopped) and unlocking (one at a time).
	bg        sync.WaitGroup
	bgMu      sync.Mutex
	bgClosed  bool
	unlocking bool
}

// Run runs the agent until ctx ends or it is asked to quit.
func Run(ctx context.Context, opts Options) error {
	a, err := New(opts)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// New prepares an agent without starting anything.
func New(opts Options) (*Agent, error) {
	if opts.Profile == nil {
		return nil, errors.New("agent needs an organisation profile")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.StateDir == "" {
		dir, err := logging.StateDir()
		if err != nil {
			return nil, err
		}
		opts.StateDir = dir
	}
	a := &Agent{opts: opts, log: opts.Logger, wizardReady: make(chan struct{}), keyringKick: make(chan struct{}, 1), hoursKick: make(chan struct{}, 1)}
	a.loginMem = newLoginMemory(opts.StateDir, a.now)
	settings, err := a.openSettings()
	if err != nil {
		return nil, err
	}
	// opts.Lang is --lang here, "" when not given.
	opts.Lang = a.chooseLanguage(settings, opts.Lang)
	a.opts.Lang = opts.Lang
	a.applyToConfig(settings)
	cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, opts.Lang)
	if err != nil {
		return nil, fmt.Errorf("loading translations: %w", err)
	}
	a.cat = cat
	supportCode, err := support.DeviceCode(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("identifying this device: %w", err)
	}
	reportCat, err := i18n.Load(assets.Translations, assets.TranslationsDir, "de")
	if err != nil {
		return nil, fmt.Errorf("loading translations: %w", err)
	}
	host, _ := os.Hostname()
	a.reportCatalog = reportCat
	a.in.Update = state.Update{State: "idle"}
	a.store = state.NewStore(state.Snapshot{
		Version:      version.String(),
		Organisation: opts.Profile.Organisation,
		SupportCode:  supportCode,
		DeviceName:   host,
		Demo:         opts.Profile.Demo != nil,
		DemoLogin:    demoLogin(opts.Profile),
		Language:     opts.Lang,
		Session:      state.NotConnected,
		Helpdesk:     state.Helpdesk{Phone: opts.Profile.Helpdesk.Phone, Hours: opts.Profile.Helpdesk.Hours, Email: opts.Profile.Helpdesk.Email},
		// Assume a tray until the bus says otherwise, so no window flashes.
		TrayVisible: true,
		Update:      a.in.Update,
		SafeMode:    settings.Bool(policy.KeySafeModeAlways),
		Settings:    wireSettings(settings),
	}, opts.Now)
	a.settings = settings
	a.store.SetDerive(situation.Derive)
	if opts.Keyring == nil {
		opts.Keyring = &keyring.System{}
	}
	a.keyringRaw = opts.Keyring
	a.opts.Keyring = redactingKeyring{opts.Keyring}
	a.portal = opts.Portal
	if a.portal == nil {
		pc, err := portal.New(portal.ConfigFromProfile(opts.Profile))
		if err != nil {
			return nil, fmt.Errorf("portal client: %w", err)
		}
		a.portal = pc
	}
	if a.opts.Session == nil {
		ctl, eng, err := a.newSession()
		if err != nil {
			return nil, fmt.Errorf("home-office session: %w", err)
		}
		a.opts.Session = ctl
		a.closeSession = ctl.Close
		a.engine = eng
		a.supervisor = ctl
	}
	ann, err := a.newAnnouncements()
	if err != nil {
		return nil, err
	}
	a.announce = ann
	a.health = a.newHealth()
	if a.office, err = a.newOffice(); err != nil {
		return nil, err
	}
	if a.updater, err = a.newUpdater(); err != nil {
		return nil, err
	}
	// Show the components' states from the start, before Run follows them.
	a.setInputs(func(in *inputs) {
		in.Announce = a.announce.Unread()
		if a.updater != nil {
			in.Update = a.updater.Status()
		} else {
			// Nothing to check: the tray hides the entry that could only fail.
			in.Update = state.Update{State: update.StateOff}
		}
	})
	a.api = localapi.NewServer(localapi.Backend{
		State: a, Session: a, Windows: a, Announcements: a, Updates: a, Enrollment: a, Support: a, Desktops: a, Settings: a, Quit: a.Quit,
	}, localapi.Config{Logger: opts.Logger})
	a.windows = newWindowClaims(a.now, newLauncher(opts.UIExe, opts.SocketPath, opts.Lang, opts.UIOutput, opts.Logger))
	return a, nil
}

// demoLogin is what the wizard shows of the profile's demo section.
func demoLogin(p *profile.Profile) *state.DemoLogin {
	if p.Demo == nil {
		return nil
	}
	return &state.DemoLogin{User: p.Demo.User, ActivationCode: p.Demo.ActivationCode}
}

// Store gives in-process components (tunnel, health, announcements) the
// state they publish to.
func (a *Agent) Store() *state.Store { return a.store }

// Run serves until ctx ends or Quit. If another agent already serves the
// socket, it asks that one to show its window and returns ErrHandedOver.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.quit = cancel

	// Claim the socket first: a second agent hands over before it touches
	// the keyring or the wizard's progress.
	ln, err := localapi.Listen(a.opts.SocketPath)
	if err != nil {
		if errors.Is(err, localapi.ErrAgentRunning) {
			window := a.opts.OpenAtStart
			if window == "" {
				window = localapi.WindowStatus
			}
			return handOver(ctx, a.opts.SocketPath, window)
		}
		return fmt.Errorf("starting local API: %w", err)
	}
	a.ctx = ctx
	// Followers of the session subscribe before the first request can
	// change it.
	var sessionStates <-chan session.Status
	var sessionEvents <-chan session.Event
	stopStates, stopEvents := func() {}, func() {}
	if a.opts.Session != nil {
		sessionStates, stopStates = a.opts.Session.Subscribe()
		sessionEvents, stopEvents = a.opts.Session.Events()
	}
	verdicts, stopVerdicts := a.health.SubscribeVerdict()
	// Serve at once: nothing between Listen and Serve may wait for the
	// keyring (a locked one waited for a prompt for minutes), the portal
	// or a person. The wizard and the device's keys come from the keyring
	// right after (startKeyring); the wizard's requests wait for it.
	a.api.Serve(ln)
	defer a.api.Close()
	a.log.Info("agent started", "version", version.String(), "socket", a.opts.SocketPath,
		"organisation", a.opts.Profile.Organisation, "demo", a.opts.Profile.Demo != nil, "lang", a.opts.Lang)

	var wg sync.WaitGroup
	if a.tunnels != nil {
		// Say from the start whether home office would reach the office
		// for every program or only through the proxy.
		wg.Add(1)
		go func() { defer wg.Done(); a.tunnels.Probe(ctx) }()
	}
	wg.Add(5)
	go func() { defer wg.Done(); a.followComponents(ctx) }()
	go func() { defer wg.Done(); a.followScreenSharing(ctx) }()
	go func() { defer wg.Done(); a.startKeyring(ctx, &wg) }()
	go func() { defer wg.Done(); a.followSession(ctx, sessionEvents, stopEvents) }()
	go func() {
		defer wg.Done()
		defer stopStates()
		defer stopVerdicts()
		a.mirrorSession(ctx, sessionStates, verdicts)
	}()
	// Long-lived components run under one supervisor, which restarts a
	// failed one with backoff and reports it in the status.
	sup := newSupervisor(a.log, a.store.AddError)
	a.watchNetwork(ctx, sup)
	sup.start(ctx, component{"health", a.health.Run})
	a.watchOffice(ctx, sup, &wg)
	sup.start(ctx, component{"announcements", a.announce.Run})
	sup.start(ctx, component{"hours", a.followHours})
	if a.updater != nil {
		// This version serves its API: an update that led here is good.
		if err := update.Confirm(a.opts.StateDir, version.String()); err != nil {
			a.log.Warn("confirming the update", "err", err)
		}
		sup.start(ctx, component{"update", a.updater.Run})
	}
	if a.opts.Tray {
		if err := tray.WatchHost(ctx, a.trayHostChanged); err != nil {
			a.log.Warn("cannot tell whether a tray is shown", "err", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tray.Run(ctx, localapi.NewClient(a.opts.SocketPath), tray.Options{Catalog: a.cat, Panel: a.opts.Panel, Logger: a.log})
		}()
	}
	if a.opts.OpenAtStart != "" {
		if err := a.OpenWindow(a.opts.OpenAtStart); err != nil {
			a.log.Error("opening window at start", "window", a.opts.OpenAtStart, "err", err)
		}
	}
	<-ctx.Done()
	a.log.Info("agent stopping")
	a.rememberSessionForUpdate()
	if a.closeSession != nil {
		if err := a.closeSession(); err != nil {
			a.log.Warn("closing the session", "err", err)
		}
	}
	a.windows.closeAll()
	a.api.Close()
	wg.Wait()
	sup.wait()
	a.stopBackground()
	a.windows.wait(3 * time.Second)
	return a.restartErr()
}

// handOver asks the agent already serving socket to show window.
func handOver(ctx context.Context, socket, window string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := localapi.NewClient(socket).OpenWindow(ctx, window); err != nil {
		return fmt.Errorf("handing over to the running agent: %w", err)
	}
	return ErrHandedOver
}

// trayHostChanged records whether a tray is visible. Without one at start
// the status window opens and explains, so the employee is never left
// with an invisible program.
func (a *Agent) trayHostChanged(present bool) {
	a.store.Update(func(s *state.Snapshot) { s.TrayVisible = present })
	if present {
		a.log.Info("tray host present")
		return
	}
	a.log.Warn("no tray host runs on this desktop, so Dienstweg has no tray icon; the status window is the way in",
		"missing", "org.kde.StatusNotifierWatcher")
	a.hostOnce.Do(func() {
		if err := a.OpenWindow(localapi.WindowStatus); err != nil {
			a.log.Error("opening status window without tray", "err", err)
		}
	})
}

// Snapshot implements localapi.State.
func (a *Agent) Snapshot() state.Snapshot { return a.store.Snapshot() }

// Subscribe implements localapi.State.
func (a *Agent) Subscribe() (<-chan state.Snapshot, func()) { return a.store.Subscribe() }

// StartSession implements localapi.Session.
func (a *Agent) StartSession(ctx context.Context, code string) error {
	redact.Register(code) // as typed, and below as checked
	code, ok := authcode.Normalise(code)
	redact.Register(code)
	if !ok {
		return fail(problem.Invalid, "bad_code_format", "code.format", fmt.Sprintf("the code has exactly %d digits", authcode.Digits))
	}
	if a.opts.Session == nil {
		return errNotAvailable
	}
	if err := a.refuseStart(ctx); err != nil {
		return err
	}
	err := a.opts.Session.Start(ctx, code)
	if p, ok := problem.As(err); ok {
		a.store.AddError(p.Msg) // for the support window
	}
	return err
}

// EndSession implements localapi.Session.
func (a *Agent) EndSession(ctx context.Context) error {
	if a.opts.Session == nil {
		return errNotAvailable
	}
	return a.opts.Session.End(ctx)
}

// OpenWindow implements localapi.WindowOwner: it raises the window if a ui
// process holds it, and starts one otherwise.
func (a *Agent) OpenWindow(name string) error { return a.windows.open(name) }

// ClaimWindow implements localapi.WindowOwner.
func (a *Agent) ClaimWindow(name string) (<-chan string, func(), error) {
	return a.windows.claim(name)
}

// Diagnostics implements localapi.Support: the redacted bundle.
func (a *Agent) Diagnostics(ctx context.Context, w io.Writer) error {
	var logs []string
	if a.opts.LogPath != "" {
		logs = logging.Files(a.opts.LogPath, logging.DefaultBackups)
	}
	err := diag.Write(w, diag.Sources{
		Snapshot:      a.store.Snapshot(),
		Profile:       a.opts.Profile,
		LogFiles:      logs,
		SecretService: a.secretServiceState(ctx),
		Now:           a.opts.Now,
	})
	if err != nil {
		return fmt.Errorf("writing diagnostics: %w", err)
	}
	return nil
}

// SetSafeMode implements localapi.Support.
func (a *Agent) SetSafeMode(_ context.Context, on bool) error {
	if err := a.refuseSafeModeOff(on); err != nil {
		return err
	}
	a.store.Update(func(s *state.Snapshot) { s.SafeMode = on })
	a.log.Info("screen-share safe mode", "on", on)
	return nil
}

// Quit ends Run; it is localapi.Backend.Quit.
func (a *Agent) Quit() {
	if a.quit != nil {
		a.quit()
	}
}
