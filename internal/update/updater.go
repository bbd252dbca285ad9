package update

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"aead.dev/minisign"

	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
)

// The values of state.Update.State this package publishes.
const (
	StateIdle        = "idle"
	StateChecking    = "checking"
	StateAvailable   = "available"
	StateDownloading = "downloading"
	StateReady       = "ready"
	StateUpToDate    = "up_to_date"
	StateError       = "error"
	// StateManaged: a newer version exists, but the binary is installed
	// where the agent cannot write (a system package); IT distributes it.
	StateManaged = "managed"
	// StateOff: this build or profile has no self-update (a development
	// build, or a profile without update keys); the agent publishes it.
	StateOff = "off"
)

// ManagedMessageKey is the text shown with StateManaged.
const ManagedMessageKey = "update.managed"

// Config wires an Updater. Zero values mean defaults where noted.
type Config struct {
	// Source is the portal client.
	Source Source
	// Sessions tells whether a session is up, so that an update never
	// cuts one, and when one ends; required.
	Sessions Sessions
	// Report records an error for the support window; nil drops it. It
	// is called from the updater's goroutines and must not block.
	Report func(state.Message)
	// Keys are the profile's minisign public keys.
	Keys []string
	// Channel is the profile's channel; "" means "stable".
	Channel string
	// Version is the running version.
	Version string
	// DeviceID places the device in staged rollouts (support.DeviceID).
	DeviceID []byte
	// Exe is the installed binary; "" means os.Executable().
	Exe string
	// Dir is the agent's state directory: update memory and staging.
	Dir string
	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time
	// Interval between background checks, jittered by ±25%. Default 6h.
	Interval time.Duration
	// FirstCheck is the delay before the first background check,
	// jittered between half and all of it. Default 3m.
	FirstCheck time.Duration
	// Rand returns a number in [0,1) for jitter; nil means math/rand/v2.
	Rand         func() float64
	GOOS, GOARCH string
	Logger       *slog.Logger
	// Restart is called after a successful Install. The agent closes its
	// local API and runs Handoff; nil means nothing is installed without
	// an explicit InstallNow.
	Restart func(*Installed)
}

// Sessions is what the updater needs of the home-office session: whether
// one is up now, and its edges as events that never collapse, so that the
// end of a session is acted on however quickly the next change follows.
// *session.Controller provides it (session.Feed's contract); it must be
// safe for concurrent use.
type Sessions interface {
	Status() session.Status
	Events() (<-chan session.Event, func())
}

// Event is an edge of the update's life that must reach its followers
// even when states collapse: an update became ready to install.
type Event struct {
	Kind    EventKind
	Version string
}

// EventKind names an Event.
type EventKind int

// The updater's events.
const (
	EventReady EventKind = iota + 1
)

// Choice is the employee's answer to "install now?".
type Choice string

// The choices. ChoiceAtSessionEnd is the default while a session is up.
const (
	ChoiceNow          Choice = "now"
	ChoiceAtSessionEnd Choice = "session_end"
)

// Plan is the install decision as data, for the UI to show: while a
// home-office session is up nothing installs without asking.
type Plan struct {
	Version string
	// Ask is true while a session is up: show the choice.
	Ask     bool
	Default Choice
	Choices []Choice
	// Chosen is the answer given so far, "" if none.
	Chosen Choice
}

// Updater checks, downloads and installs updates and publishes what it
// does to the store. Its methods are safe for concurrent use; one update
// step (check, download, install) runs at a time.
type Updater struct {
	cfg    Config
	status *state.Value[state.Update]
	events state.Feed[Event]
	keys   []minisign.PublicKey
	mem    *memory
	log    *slog.Logger
	kick   chan struct{}

	step sync.Mutex // serialises check, download and install

	mu      sync.Mutex
	staged  *Staged
	chosen  Choice
	managed bool
	// installed is set once a new binary is in place; this process only
	// waits for its restart then.
	installed *Installed

	// eventHandled, if set, is called by Run after each session event it
	// has acted on; tests use it to know a session end was handled.
	eventHandled func(session.Event)
}

// New validates cfg and prepares an updater. It reports a rollback that
// happened before this start in the state.
func New(cfg Config) (*Updater, error) {
	if cfg.Source == nil || cfg.Sessions == nil {
		return nil, errors.New("update: Source and Sessions are required")
	}
	if cfg.Dir == "" {
		return nil, errors.New("update: Dir is required")
	}
	if _, err := ParseVersion(cfg.Version); err != nil {
		return nil, fmt.Errorf("update: running version: %w", err)
	}
	keys, err := ParseKeys(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	if cfg.Channel == "" {
		cfg.Channel = "stable"
	}
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("update: finding own executable: %w", err)
		}
		cfg.Exe = exe
	}
	if exe, err := filepath.EvalSymlinks(cfg.Exe); err == nil {
		cfg.Exe = exe
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 6 * time.Hour
	}
	if cfg.FirstCheck <= 0 {
		cfg.FirstCheck = 3 * time.Minute
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.GOOS == "" {
		cfg.GOOS, cfg.GOARCH = runtime.GOOS, runtime.GOARCH
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Report == nil {
		cfg.Report = func(state.Message) {}
	}
	log := cfg.Logger.With("component", "update")
	u := &Updater{cfg: cfg, status: state.NewValue(state.Update{State: StateIdle}), keys: keys, mem: newMemory(cfg.Dir, log), log: log, kick: make(chan struct{}, 1)}
	u.managed = Writable(cfg.Exe) != nil
	if f, err := u.mem.takeRollbackNote(); err == nil {
		u.log.Error("the previous update was rolled back", "version", f.Version, "reason", f.Reason)
		msg := state.Message{Key: MessageKey(CodeSelfTestFailed), Args: map[string]string{"Version": f.Version}}
		u.publish(func(s *state.Update) { *s = state.Update{State: StateError, Error: &msg} })
		cfg.Report(msg)
	}
	return u, nil
}

// Status is the update's current state, for the agent's projection.
func (u *Updater) Status() state.Update { return u.status.Get() }

// SubscribeStatus follows Status: the channel holds the current state at
// once and then always the newest; intermediate ones may be skipped.
func (u *Updater) SubscribeStatus() (<-chan state.Update, func()) { return u.status.Subscribe() }

// Events returns a queue of the updater's events from now on; none is
// skipped. Close it when done.
func (u *Updater) Events() *state.Events[Event] { return u.events.Subscribe() }

// Managed reports whether updates are left to the package manager
// because the agent cannot replace its binary.
func (u *Updater) Managed() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.managed
}

// CheckNow asks the background loop for a check (and download) now; it
// does not wait. The tray's "Nach Updates suchen" calls it.
func (u *Updater) CheckNow() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// Run checks in the background with jitter until ctx ends, and installs
// a ready update when the session ends (or at once without a session).
func (u *Updater) Run(ctx context.Context) error {
	// Only the agent that owns the local API gets here (New also runs in
	// a second start that then hands over), so the staging directory is
	// ours to clean.
	u.sweepStaging()
	events, cancel := u.cfg.Sessions.Events()
	defer cancel()
	timer := time.NewTimer(backoff.Jitter(u.cfg.FirstCheck, 0.5, u.cfg.Rand))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			u.cycle(ctx)
			d := u.cfg.Interval
			timer.Reset(backoff.Spread(d, 0.25, u.cfg.Rand))
		case <-u.kick:
			u.cycle(ctx)
		case ev := <-events:
			switch ev.Kind {
			case session.Ended, session.Expired, session.Revoked:
				// The tunnel is down: an update chosen for the end of the
				// session installs now, unless a new session is up already.
				u.maybeInstall(ctx, false)
			}
			if u.eventHandled != nil {
				u.eventHandled(ev)
			}
		}
	}
}

// cycle is one background round: check, download, maybe install.
func (u *Updater) cycle(ctx context.Context) {
	u.mu.Lock()
	done := u.installed != nil
	u.mu.Unlock()
	if done {
		return
	}
	rel, err := u.Check(ctx)
	if err != nil || rel == nil || u.Managed() {
		return
	}
	if _, err := u.Download(ctx, rel, nil); err != nil {
		return
	}
	u.maybeInstall(ctx, true)
}

func (u *Updater) publish(f func(*state.Update)) {
	u.status.Set(f)
}

func (u *Updater) fail(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeCheckFailed, Err: err}
	}
	msg := e.Message()
	u.publish(func(s *state.Update) { *s = state.Update{State: StateError, Error: &msg} })
	switch e.Code {
	case CodeCheckFailed, CodeDownloadFailed:
		u.log.Warn("update failed", "code", e.Code, "err", err)
	default:
		// Everything else may be an attack or a broken release: keep it
		// for the support window too.
		u.log.Error("update rejected", "code", e.Code, "err", err)
		u.cfg.Report(msg)
	}
	return e
}

// Check fetches and verifies the manifest and decides whether this device
// should update. It returns nil without error when there is nothing to
// do. Every security check failure is an *Error and is published.
func (u *Updater) Check(ctx context.Context) (*Release, error) {
	u.step.Lock()
	defer u.step.Unlock()
	u.publish(func(s *state.Update) { *s = state.Update{State: StateChecking} })
	rel, show, err := u.check(ctx)
	// A staged release installs only while the portal offers exactly it.
	// Every answer that says otherwise (up to date, a downgrade, another
	// version or build, outside the rollout, withdrawn, or a manifest we
	// cannot trust) drops it; IT withdraws a release by publishing the
	// previous one. Only a check that never got an answer keeps it. It is
	// dropped before the outcome shows, so "up to date" never coexists
	// with a staged file.
	if CodeOf(err) != CodeCheckFailed {
		u.dropStagedUnless(rel)
	}
	if show != nil {
		u.publish(func(s *state.Update) { *s = *show })
		return rel, err
	}
	return rel, u.fail(err)
}

// check asks the portal and judges its answer. It returns what to show,
// or nil and an error for fail to show.
func (u *Updater) check(ctx context.Context) (*Release, *state.Update, error) {
	upToDate := &state.Update{State: StateUpToDate}
	raw, err := u.cfg.Source.ReleaseManifest(ctx, u.cfg.Channel)
	if errors.Is(err, portal.ErrNotFound) {
		return nil, upToDate, nil
	}
	if err != nil {
		return nil, nil, errf(CodeCheckFailed, "reading the release manifest: %v", err)
	}
	m, err := VerifyManifest(raw.Manifest, raw.Signature, u.keys)
	if err != nil {
		return nil, nil, err
	}
	verdict, art, err := Evaluate(m, Target{
		Version: u.cfg.Version, Channel: u.cfg.Channel, GOOS: u.cfg.GOOS, GOARCH: u.cfg.GOARCH,
		DeviceID: u.cfg.DeviceID, Now: u.cfg.Now(),
	})
	if CodeOf(err) == CodeDowngrade {
		// IT may withdraw a release by publishing the previous one; we
		// stay where we are without alarming the employee.
		u.log.Warn("update refused", "err", err)
		return nil, upToDate, err
	}
	if err != nil {
		return nil, nil, err
	}
	if verdict != Available {
		u.log.Info("no update for this device", "offered", m.Version, "running", u.cfg.Version, "in_rollout", verdict != NotYet)
		return nil, upToDate, nil
	}
	rec, err := u.mem.get()
	if err == nil && rec.Failed != nil {
		if c, err := compareVersions(m.Version, rec.Failed.Version); err == nil && c <= 0 {
			return nil, nil, errf(CodeFailedBefore, "version %s failed its self-test on %s (%s); waiting for a newer one",
				rec.Failed.Version, rec.Failed.At.Format(time.RFC3339), rec.Failed.Reason)
		}
	}
	rel := &Release{Manifest: m, Artifact: *art}
	u.mu.Lock()
	u.managed = Writable(u.cfg.Exe) != nil
	managed := u.managed
	u.mu.Unlock()
	if managed {
		u.log.Info("update available; the binary is managed by the package manager", "version", m.Version, "exe", u.cfg.Exe)
		msg := state.Message{Key: ManagedMessageKey, Args: map[string]string{"Version": m.Version}}
		return rel, &state.Update{State: StateManaged, Available: m.Version, Error: &msg}, nil
	}
	u.log.Info("update available", "version", m.Version, "running", u.cfg.Version)
	return rel, &state.Update{State: StateAvailable, Available: m.Version}, nil
}

// Download fetches and verifies rel's binary (by patch where one applies)
// and stages it. progress, if not nil, gets non-blocking updates; the
// state's Progress follows too.
func (u *Updater) Download(ctx context.Context, rel *Release, progress chan<- Progress) (*Staged, error) {
	u.step.Lock()
	defer u.step.Unlock()
	u.mu.Lock()
	st := u.staged
	u.mu.Unlock()
	if st.offeredBy(rel) {
		u.publishReady(st.Version)
		return st, nil
	}
	// Another release (or another build of the same version) is wanted:
	// the staged one must not install, even if this download fails.
	u.dropStagedUnless(rel)
	version := rel.Manifest.Version
	u.publish(func(s *state.Update) { *s = state.Update{State: StateDownloading, Available: version} })
	ch := make(chan Progress, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := -1.0
		for p := range ch {
			if progress != nil {
				select {
				case progress <- p:
				default:
				}
			}
			// Whole percents are enough for a progress bar.
			if f := float64(int(p.Fraction()*100)) / 100; f != last {
				last = f
				u.publish(func(s *state.Update) { s.Progress = f })
			}
		}
	}()
	f := &fetcher{
		src: u.cfg.Source, channel: u.cfg.Channel, keys: u.keys,
		dir: filepath.Join(u.cfg.Dir, "updates"), goos: u.cfg.GOOS, goarch: u.cfg.GOARCH,
		current: u.cfg.Exe, currentVersion: u.cfg.Version, progress: ch,
	}
	st, err := f.download(ctx, version, rel.Artifact)
	close(ch)
	<-done
	if err != nil {
		return nil, u.fail(err)
	}
	u.log.Info("update downloaded and verified", "version", version, "patched", st.Patched, "path", st.Path)
	u.mu.Lock()
	u.staged, u.chosen = st, ""
	u.mu.Unlock()
	u.publishReady(version)
	// The edge: a release became staged. Re-showing it (a later check
	// of the same build) is state, not another event.
	u.events.Publish(Event{Kind: EventReady, Version: version})
	return st, nil
}

// publishReady shows the staged update with the answer given so far, so
// a later check does not make the tray ask again.
func (u *Updater) publishReady(version string) {
	u.mu.Lock()
	chosen := u.chosen
	u.mu.Unlock()
	u.publish(func(s *state.Update) {
		*s = state.Update{State: StateReady, Available: version, Progress: 1, Chosen: string(chosen)}
	})
}

// offeredBy reports whether st is exactly the build rel offers: a
// re-published version with another binary is a different release.
func (st *Staged) offeredBy(rel *Release) bool {
	if st == nil || rel == nil || st.Version != rel.Manifest.Version {
		return false
	}
	a, b := st.Artifact, rel.Artifact
	return a.File == b.File && a.Size == b.Size && a.SHA256 == b.SHA256 && a.Minisig == b.Minisig
}

// dropStagedUnless forgets the staged update and deletes its file unless
// offer is exactly it. The caller holds u.step.
func (u *Updater) dropStagedUnless(offer *Release) {
	u.mu.Lock()
	st := u.staged
	if st == nil || st.offeredBy(offer) {
		u.mu.Unlock()
		return
	}
	u.staged, u.chosen = nil, ""
	u.mu.Unlock()
	offered := "nothing"
	if offer != nil {
		offered = offer.Manifest.Version
	}
	u.log.Info("dropping the downloaded update: the portal no longer offers it", "staged", st.Version, "offered", offered)
	if err := os.Remove(st.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		u.log.Warn("removing the dropped update", "path", st.Path, "err", err)
	}
}

// sweepStaging deletes what earlier runs left in the staging directory:
// downloads of releases that may since have been withdrawn, for another
// version or platform, or half-written ones. Nothing staged by an
// earlier process is ever installed; a later check downloads anew.
func (u *Updater) sweepStaging() {
	u.step.Lock()
	defer u.step.Unlock()
	u.mu.Lock()
	keep := ""
	if u.staged != nil {
		keep = u.staged.Path
	}
	u.mu.Unlock()
	dir := filepath.Join(u.cfg.Dir, "updates")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		u.log.Warn("reading the staging directory", "dir", dir, "err", err)
		return
	}
	var removed []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if p == keep {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			u.log.Warn("removing a leftover download", "path", p, "err", err)
			continue
		}
		removed = append(removed, e.Name())
	}
	if len(removed) > 0 {
		u.log.Info("removed leftover downloads from an earlier run", "dir", dir, "files", removed)
	}
}

// Plan returns the install decision for the staged update; false if
// nothing is staged.
func (u *Updater) Plan() (Plan, bool) {
	u.mu.Lock()
	st, chosen := u.staged, u.chosen
	u.mu.Unlock()
	if st == nil {
		return Plan{}, false
	}
	sess := u.cfg.Sessions.Status()
	ask := sess.Phase.Active(sess.Running)
	return Plan{Version: st.Version, Ask: ask, Default: ChoiceAtSessionEnd, Choices: []Choice{ChoiceNow, ChoiceAtSessionEnd}, Chosen: chosen}, true
}

// Choose records the employee's answer. ChoiceNow installs at once (and
// restarts through Config.Restart); ChoiceAtSessionEnd waits for the
// session to end.
func (u *Updater) Choose(ctx context.Context, c Choice) error {
	switch c {
	case ChoiceNow, ChoiceAtSessionEnd:
	default:
		return fmt.Errorf("update: unknown choice %q", c)
	}
	u.mu.Lock()
	staged := u.staged != nil
	if staged {
		u.chosen = c
	}
	u.mu.Unlock()
	if !staged {
		// The release may have been withdrawn since the question was shown.
		return &Error{Code: CodeNothingToInstall}
	}
	u.publish(func(s *state.Update) { s.Chosen = string(c) })
	if c == ChoiceNow {
		if !u.stillOffered(ctx) {
			return &Error{Code: CodeNothingToInstall}
		}
		_, err := u.InstallNow(ctx)
		return err
	}
	return nil
}

// stillOffered checks with the portal, right before an install, that the
// staged release is still the one offered: hours may have passed since
// the check that staged it, and IT may have withdrawn it meanwhile. A
// portal that cannot be reached leaves the last answer standing.
func (u *Updater) stillOffered(ctx context.Context) bool {
	rel, err := u.Check(ctx)
	u.mu.Lock()
	st := u.staged
	u.mu.Unlock()
	if st == nil {
		return false
	}
	if err == nil && rel != nil {
		u.publishReady(st.Version)
	}
	return true
}

// maybeInstall installs a staged update when nobody needs asking: no
// session is up (or the employee chose the end of the session, which has
// come). checked says the staging check has just
// run; otherwise the portal is asked again first.
func (u *Updater) maybeInstall(ctx context.Context, checked bool) {
	p, ok := u.Plan()
	if !ok || u.cfg.Restart == nil {
		return
	}
	if p.Ask && p.Chosen != ChoiceNow {
		return
	}
	if !checked && !u.stillOffered(ctx) {
		return
	}
	if _, err := u.InstallNow(ctx); err != nil && CodeOf(err) != CodeNothingToInstall {
		// nothing_to_install: a check dropped the release meanwhile.
		u.log.Error("installing update", "err", err)
	}
}

// InstallNow replaces the binary with the staged update and calls
// Config.Restart. The caller has the employee's consent if a session is
// up.
func (u *Updater) InstallNow(ctx context.Context) (*Installed, error) {
	u.step.Lock()
	defer u.step.Unlock()
	u.mu.Lock()
	st, done := u.staged, u.installed
	u.mu.Unlock()
	if done != nil {
		return done, nil
	}
	if st == nil {
		return nil, &Error{Code: CodeNothingToInstall}
	}
	inst, err := Install(st, InstallOptions{
		Exe: u.cfg.Exe, Dir: u.cfg.Dir, FromVersion: u.cfg.Version, Keys: u.keys,
		GOOS: u.cfg.GOOS, GOARCH: u.cfg.GOARCH, Now: u.cfg.Now, Logger: u.log,
	})
	if err != nil {
		return nil, u.fail(err)
	}
	u.mu.Lock()
	u.staged, u.chosen, u.installed = nil, "", inst
	u.mu.Unlock()
	os.Remove(st.Path)
	u.log.Info("update installed; restarting for the self-test", "version", inst.Version, "exe", inst.Exe)
	if u.cfg.Restart != nil {
		u.cfg.Restart(inst)
	}
	return inst, nil
}
