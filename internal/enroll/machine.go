// Package enroll is the setup wizard's state machine, without any UI: the
// steps of the first-day setup (E1–E7, see [Step]), their inputs,
// validations and transitions, the all-or-nothing device registration
// with the keys in the OS keyring (docs/keyring.md), and resuming after
// the program was quit or killed. The wizard window renders [View] values
// and calls the [Machine]'s methods for the user's actions.
//
// Secrets never leave memory except into the keyring: the progress file
// holds only the step and names, the authenticator secret is dropped once
// confirmed, and values that must reach the window are of type [Secret],
// which prints as [redacted].
package enroll

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Portal is what the wizard needs of the portal; *portal.Client has it.
// Declared here so tests and the agent can see the wizard's whole reach.
// Implementations are safe for concurrent use.
type Portal interface {
	Health(ctx context.Context) (time.Time, error)
	StartEnrollment(ctx context.Context, user, activationCode string) (*portal.Enrollment, error)
	ConfirmEnrollment(ctx context.Context, enrollmentID, code string) (*portal.Confirmation, error)
	RegisterDevice(ctx context.Context, enrollmentID, publicKey, name string) (*portal.Registration, error)
	Device(ctx context.Context) (*portal.DeviceInfo, error)
	SetCredential(cred string)
}

var _ Portal = (*portal.Client)(nil)

// Config is what a Machine uses. Portal, Keyring and StateDir are
// required.
type Config struct {
	Portal  Portal
	Keyring keyring.Store
	// StateDir holds the progress file (ProgressFile), e.g.
	// logging.StateDir().
	StateDir string
	// DeviceName labels the device for IT; "" means the host name.
	DeviceName string
	// Now is the local clock; nil means time.Now.
	Now func() time.Time
	// Location formats "try again at HH:MM"; nil means time.Local.
	Location *time.Location
	// Rand is the source of key material; nil means crypto/rand.
	Rand io.Reader
	// Logger nil means slog.Default(). Only steps and error kinds are
	// logged, never inputs or secrets.
	Logger *slog.Logger

	// writeFile writes the progress file; nil means atomicfile.WriteFile.
	// Tests make it fail as a full disk would.
	writeFile writeFileFunc
}

// Errors of the action methods. Problems the user can act on are not
// errors but part of the View.
var (
	// ErrBusy: another action is running.
	ErrBusy = errors.New("enroll: busy")
	// ErrNotNow: the action does not apply to the current step or page
	// (a stale window); nothing changed.
	ErrNotNow = errors.New("enroll: action not possible now")
)

// retryOp is what Retry repeats.
type retryOp int

const (
	retryNone retryOp = iota
	retryResume
	retrySaveEnrollment
	retryClock
	retryDevice
	retryTest
	// retryPage only returns to the step's page, where the user repeats
	// the action (e.g. submits the code again).
	retryPage
)

// Machine is the wizard. It is safe for concurrent use; actions that talk
// to the portal or the keyring block until done (run them off the UI
// thread) and mark the View busy meanwhile.
type Machine struct {
	cfg Config

	mu   sync.Mutex
	seq  uint64
	busy bool
	step Step
	// enrolled: the keyring held a complete device when last read. It,
	// not the progress file, says whether this computer is set up.
	enrolled bool
	// noProgress: there was no usable progress file at start, so the
	// step it names is not known; the keyring decides.
	noProgress bool
	// warning says why the progress file could not be written; nil
	// after the last write succeeded.
	warning *state.Message
	page    Page
	retry   retryOp
	err     *state.Message
	notice  *state.Message
	hidden  bool
	user    string
	name    string // display name
	devID   string
	checks  []Check
	tested  bool
	// enr is the started enrollment with the authenticator secret, in
	// memory only and dropped once confirmed. Going back to sign-in keeps
	// it: a person who scanned the QR code must not be left with a stale
	// entry in the app.
	enr *portal.Enrollment
	// activation is the activation code enr was started with, in memory
	// only: signing in again with the same inputs reuses enr, and
	// NewSecret asks the portal for a new secret with it.
	activation string
	// enrollmentID is known in memory after sign-in; after a restart of
	// the program it is read from the keyring when needed.
	enrollmentID string

	subs map[*subscription]struct{}
}

type subscription struct{ ch chan View }

// New returns the wizard, resumed where the progress file in
// cfg.StateDir says, after finishing an interrupted device registration.
// It reads the keyring; if that fails, the View is the keyring page and
// Retry tries again.
func New(ctx context.Context, cfg Config) (*Machine, error) {
	if cfg.Portal == nil || cfg.Keyring == nil || cfg.StateDir == "" {
		return nil, errors.New("enroll: Portal, Keyring and StateDir are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DeviceName == "" {
		cfg.DeviceName, _ = os.Hostname()
	}
	m := &Machine{cfg: cfg, step: StepWelcome, page: PageStep, hidden: true, subs: map[*subscription]struct{}{}}
	p, err := loadProgress(cfg.StateDir)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		// A new computer, or the file was lost: the keyring, checked
		// below, says whether this computer is set up.
		m.noProgress = true
		p = progress{Step: StepWelcome}
	default:
		// A damaged file costs at most a few clicks of an unfinished
		// setup, never the setup: the keyring is the truth about the
		// device. The file is kept aside for the helpdesk.
		cfg.Logger.Error("enroll: the wizard's progress file is damaged; the keyring decides whether this computer is set up",
			"file", filepath.Join(cfg.StateDir, ProgressFile), "kept_as", ProgressFile+damagedSuffix, "err", err)
		if err := keepDamaged(cfg.StateDir); err != nil {
			cfg.Logger.Warn("enroll: damaged progress file", "err", err)
		}
		m.noProgress = true
		p = progress{Step: StepWelcome}
	}
	m.step, m.user, m.name, m.devID = p.Step, p.User, p.DisplayName, p.DeviceID
	m.resume(gatherFacts(ctx, cfg.Keyring))
	return m, nil
}

// facts is what resuming needs to know from the keyring.
type facts struct {
	err           error // rolling forward or reading the enrollment failed
	hasEnrollment bool
	dev           *Device
	devErr        error
}

// gatherFacts finishes a staged registration and reads the keyring; it
// takes no lock, as keyring calls may wait for an unlock prompt.
func gatherFacts(ctx context.Context, ks keyring.Store) facts {
	var f facts
	if _, f.err = rollForward(ctx, ks); f.err != nil {
		return f
	}
	_, err := ks.Get(ctx, keyring.AccountPendingEnrollment)
	switch {
	case err == nil:
		f.hasEnrollment = true
	case !errors.Is(err, keyring.ErrNotFound):
		f.err = err
		return f
	}
	f.dev, f.devErr = LoadDevice(ctx, ks)
	return f
}

// resume moves from the saved step to where the wizard can honestly
// continue, given the keyring's facts. Caller holds m.mu (or owns m).
func (m *Machine) resume(f facts) {
	if f.err != nil {
		m.keyringPage(f.err, retryResume)
		return
	}
	m.page, m.retry, m.err = PageStep, retryNone, nil
	m.enrolled = f.devErr == nil && f.dev != nil
	if m.noProgress && m.enrolled {
		// The keyring holds a whole device but no progress file says
		// so (lost, damaged, or never written on a full disk): this
		// computer is set up.
		m.cfg.Logger.Info("enroll: this computer is set up (its keys are in the keyring); writing the wizard's progress again")
		m.resumeFromDevice(f, StepDone)
		return
	}
	switch m.step {
	case StepWelcome, StepSignIn:
	case StepAuthenticator:
		// The authenticator secret is never stored, so the QR code cannot
		// be shown again: sign in again for a new one.
		m.startOver(msg("enroll.notice.sign_in_again"))
	case StepConfirm:
		if !f.hasEnrollment {
			m.startOver(msg("enroll.notice.sign_in_again"))
			return
		}
		// The phone has the secret; the portal needs only a code.
		m.notice = msg("enroll.notice.resume_confirm")
	case StepDevice:
		if !f.hasEnrollment {
			// Either committed (the progress file lags) or lost.
			m.resumeFromDevice(f, StepTest)
		}
	case StepTest, StepDone:
		m.resumeFromDevice(f, m.step)
	}
}

// resumeFromDevice continues at step if the keyring holds a complete
// device, and otherwise goes back as far as needed.
func (m *Machine) resumeFromDevice(f facts, step Step) {
	switch {
	case f.devErr == nil:
		m.cfg.Portal.SetCredential(f.dev.Credential.Reveal())
		m.step = step
		m.save()
	case errors.Is(f.devErr, ErrNoDevice) || errors.Is(f.devErr, ErrIncomplete):
		if f.hasEnrollment {
			m.step = StepDevice
			m.save()
			return
		}
		m.startOver(msg("enroll.notice.device_missing"))
	default:
		m.keyringPage(f.devErr, retryResume)
	}
}

// startOver goes to sign-in with an explanation, keeping the user name.
func (m *Machine) startOver(notice *state.Message) {
	m.step, m.page, m.retry = StepSignIn, PageStep, retryNone
	m.enr, m.activation, m.enrollmentID, m.checks, m.tested = nil, "", "", nil, false
	m.notice = notice
	m.save()
}

func (m *Machine) keyringPage(err error, op retryOp) {
	m.page, m.retry, m.err = PageKeyring, op, keyringMessage(err)
	m.cfg.Logger.Warn("enroll: keyring", "step", m.step, "err", err)
}

// save writes the progress file. A failure (a full disk, a read-only
// directory) is logged and shown as the view's Warning until a later
// write succeeds; the wizard goes on, since the keyring, not this file,
// keeps the device, and every later step (or Retry) writes again what
// the machine holds in memory. Caller holds m.mu (or owns m).
func (m *Machine) save() {
	err := saveProgress(m.cfg.StateDir, progress{
		Step: m.step, User: m.user, DisplayName: m.name, DeviceID: m.devID, Updated: m.cfg.Now().UTC(),
	}, m.cfg.writeFile)
	if err != nil {
		m.warning = storageMessage(err, m.cfg.StateDir)
		m.cfg.Logger.Error("enroll: the wizard's progress could not be saved; the setup goes on, the keyring keeps the device",
			"dir", m.cfg.StateDir, "step", m.step, "err", err)
		return
	}
	if m.warning != nil {
		m.cfg.Logger.Info("enroll: the wizard's progress is saved again")
	}
	m.warning, m.noProgress = nil, false
}

// View returns the current view.
func (m *Machine) View() View {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.viewLocked()
}

func (m *Machine) viewLocked() View {
	v := View{
		Seq: m.seq, Step: m.step, Number: m.step.Number(), Total: TotalSteps, Code: m.step.Code(),
		Page: m.page, User: m.user, DisplayName: m.name, Busy: m.busy,
		Error: cloneMsg(m.err), Notice: cloneMsg(m.notice),
		Checks:   append([]Check(nil), m.checks...),
		Enrolled: m.enrolledLocked(),
		Warning:  cloneMsg(m.warning),
	}
	v.Title, v.Body = "enroll."+string(m.step)+".title", "enroll."+string(m.step)+".body"
	switch m.page {
	case PageClock, PageKeyring:
		v.Title, v.Body = "enroll.page."+string(m.page)+".title", "enroll.page."+string(m.page)+".body"
		v.CanRetry = !m.busy
		v.CanRestart = !m.busy
		return v
	}
	free := !m.busy
	switch m.step {
	case StepWelcome:
		v.CanNext = free
	case StepSignIn:
		v.Fields = []Field{FieldUser, FieldActivationCode}
		v.CanBack, v.CanNext = free, free
	case StepAuthenticator:
		a := &Authenticator{Hidden: m.hidden, Apps: append([]string(nil), Apps...)}
		if m.enr != nil {
			a.Issuer, a.Account = m.enr.Issuer, m.enr.Account
			if !m.hidden {
				a.URI, a.ManualKey = Secret(m.enr.OTPAuthURI), Secret(groupKey(m.enr.Secret))
			}
		}
		v.Authenticator = a
		v.CanBack, v.CanNext = free, free && m.enr != nil
		v.CanNewSecret = free && m.enr != nil && m.activation != ""
	case StepConfirm:
		v.Fields = []Field{FieldCode}
		v.CanBack, v.CanNext = free, free
		v.CanRestart = free
	case StepDevice:
		v.CanNext = free
		v.CanRetry = free && m.retry == retryDevice
	case StepTest:
		v.CanNext = free
		v.CanRetry = free && m.retry == retryTest
	case StepDone:
		v.CanRestart = free
	}
	// A progress file that could not be written can be written again
	// where nothing else is to be retried.
	if m.warning != nil && m.retry == retryNone {
		v.CanRetry = free
	}
	return v
}

func cloneMsg(m *state.Message) *state.Message {
	if m == nil {
		return nil
	}
	c := &state.Message{Key: m.Key}
	if m.Args != nil {
		c.Args = make(map[string]string, len(m.Args))
		for k, v := range m.Args {
			c.Args[k] = v
		}
	}
	return c
}

// publishLocked bumps Seq and offers the view to every subscriber.
func (m *Machine) publishLocked() View {
	m.seq++
	v := m.viewLocked()
	for s := range m.subs {
		state.Offer(s.ch, v)
	}
	return v
}

// Subscribe returns a channel that holds the current view at once and then
// always the newest one, and a cancel function. The channel is never
// closed; stop reading after cancel.
func (m *Machine) Subscribe() (<-chan View, func()) {
	s := &subscription{ch: make(chan View, 1)}
	m.mu.Lock()
	s.ch <- m.viewLocked()
	m.subs[s] = struct{}{}
	m.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.subs, s)
			m.mu.Unlock()
		})
	}
}

// begin starts an action at one of the steps (any if none given) on the
// step page. It marks the machine busy and publishes that.
func (m *Machine) begin(pages []Page, steps ...Step) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.busy {
		return ErrBusy
	}
	okPage := false
	for _, p := range pages {
		okPage = okPage || p == m.page
	}
	okStep := len(steps) == 0
	for _, s := range steps {
		okStep = okStep || s == m.step
	}
	if !okPage || !okStep {
		return ErrNotNow
	}
	m.busy = true
	m.publishLocked()
	return nil
}

// end applies the action's result, clears busy and publishes.
func (m *Machine) end(apply func()) View {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.busy = false
	apply()
	return m.publishLocked()
}

// instant runs a transition that needs no I/O.
func (m *Machine) instant(pages []Page, steps []Step, apply func()) (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.busy {
		return m.viewLocked(), ErrBusy
	}
	okPage := false
	for _, p := range pages {
		okPage = okPage || p == m.page
	}
	okStep := false
	for _, s := range steps {
		okStep = okStep || s == m.step
	}
	if !okPage || !okStep {
		return m.viewLocked(), ErrNotNow
	}
	apply()
	return m.publishLocked(), nil
}

var stepPage = []Page{PageStep}

// goTo enters a step on its own page, clearing messages. The
// authenticator secret is hidden again whenever its step is entered.
func (m *Machine) goTo(s Step) {
	m.step, m.page, m.retry, m.err, m.notice = s, PageStep, retryNone, nil, nil
	if s == StepAuthenticator {
		m.hidden = true
	}
	m.cfg.Logger.Info("enroll: step", "step", s, "code", s.Code())
	m.save()
}

// Next is the window's Next button on steps without fields: Welcome →
// Sign in, Authenticator → Confirm, Device: register this device (then
// the connection test runs), Test: run the test, or go to Done once it
// passed. On Sign in and Confirm, call SubmitSignIn and SubmitCode.
func (m *Machine) Next(ctx context.Context) (View, error) {
	m.mu.Lock()
	step, page := m.step, m.page
	m.mu.Unlock()
	if page != PageStep {
		return m.View(), ErrNotNow
	}
	switch step {
	case StepWelcome:
		return m.instant(stepPage, []Step{StepWelcome}, func() { m.goTo(StepSignIn) })
	case StepAuthenticator:
		return m.instant(stepPage, []Step{StepAuthenticator}, func() {
			if m.enr != nil {
				m.goTo(StepConfirm)
			}
		})
	case StepDevice:
		return m.registerDevice(ctx)
	case StepTest:
		m.mu.Lock()
		tested := m.tested
		m.mu.Unlock()
		if tested {
			return m.instant(stepPage, []Step{StepTest}, func() { m.goTo(StepDone) })
		}
		return m.runTest(ctx)
	}
	return m.View(), ErrNotNow
}

// Back goes one screen back where that makes sense: Sign in → Welcome,
// Authenticator → Sign in, Confirm → Authenticator (or Sign in when the
// QR code is gone after a restart of the program). From the device step
// on there is no way back: the code has been confirmed.
func (m *Machine) Back() (View, error) {
	return m.instant(stepPage, []Step{StepSignIn, StepAuthenticator, StepConfirm}, func() {
		switch m.step {
		case StepSignIn:
			m.goTo(StepWelcome)
		case StepAuthenticator:
			// The secret stays: signing in again with the same inputs
			// shows the same QR code (SubmitSignIn).
			m.goTo(StepSignIn)
		case StepConfirm:
			if m.enr == nil {
				m.startOver(msg("enroll.notice.sign_in_again"))
				return
			}
			m.goTo(StepAuthenticator)
		}
	})
}

// ToggleSecret shows or hides the QR code and key on the authenticator
// step. It works while busy, as it changes nothing but the screen.
func (m *Machine) ToggleSecret() (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.step != StepAuthenticator || m.page != PageStep {
		return m.viewLocked(), ErrNotNow
	}
	m.hidden = !m.hidden
	return m.publishLocked(), nil
}

// SubmitSignIn signs in with the user name and activation code from IT's
// letter. On success the wizard checks the clock and shows the
// authenticator step (or the clock page).
func (m *Machine) SubmitSignIn(ctx context.Context, user, activationCode string) (View, error) {
	user, activationCode = strings.TrimSpace(user), strings.TrimSpace(activationCode)
	if err := m.begin(stepPage, StepSignIn); err != nil {
		return m.View(), err
	}
	var bad *state.Message
	switch {
	case user == "":
		bad = msg("enroll.error.user_missing")
	case activationCode == "":
		bad = msg("enroll.error.activation_missing")
	case len(user) > 128 || len(activationCode) > 64:
		bad = msg("enroll.error.input_too_long")
	}
	if bad != nil {
		return m.end(func() { m.user, m.err, m.notice = user, bad, nil }), nil
	}
	m.mu.Lock()
	same := m.enr != nil && m.user == user && m.activation == activationCode
	replaced := m.enr != nil
	m.mu.Unlock()
	if same {
		// Back and forward again: the QR code the person may already
		// have scanned stays valid.
		return m.end(func() { m.goTo(StepAuthenticator) }), nil
	}
	enr, err := m.startEnrollment(ctx, user, activationCode)
	if err != nil {
		e := portal.Explain(err, m.cfg.Now(), m.cfg.Location)
		return m.end(func() { m.user, m.err, m.notice = user, e, nil }), nil
	}
	local := m.cfg.Now()
	kerr := m.cfg.Keyring.Set(ctx, keyring.AccountPendingEnrollment, enr.EnrollmentID)
	return m.end(func() {
		m.user, m.name, m.enr, m.activation, m.enrollmentID = user, enr.DisplayName, enr, activationCode, enr.EnrollmentID
		m.goTo(StepAuthenticator)
		if replaced {
			m.notice = msg("enroll.notice.new_secret")
		}
		if kerr != nil {
			// Keep the id in memory for Retry; without the keyring the
			// device could not be set up later anyway.
			m.keyringPage(kerr, retrySaveEnrollment)
			return
		}
		m.applyClock(enr.ServerTime.Sub(local.Truncate(time.Second)))
	}), nil
}

// startEnrollment asks the portal for an enrollment, which issues a new
// authenticator secret; failures are logged by kind only.
func (m *Machine) startEnrollment(ctx context.Context, user, activationCode string) (*portal.Enrollment, error) {
	enr, err := m.cfg.Portal.StartEnrollment(ctx, user, activationCode)
	if err != nil {
		m.cfg.Logger.Info("enroll: sign-in failed", "kind", portal.KindOf(err).String())
		return nil, err
	}
	return enr, nil
}

// NewSecret replaces the authenticator secret on the authenticator step,
// when the person asks for a new QR code (e.g. the old one was seen by
// someone else). The notice says that the app's old entry no longer
// works. A failure keeps the old secret and says why.
func (m *Machine) NewSecret(ctx context.Context) (View, error) {
	if err := m.begin(stepPage, StepAuthenticator); err != nil {
		return m.View(), err
	}
	m.mu.Lock()
	user, activationCode, ok := m.user, m.activation, m.enr != nil && m.activation != ""
	m.mu.Unlock()
	if !ok {
		return m.end(func() {}), ErrNotNow
	}
	enr, err := m.startEnrollment(ctx, user, activationCode)
	if err != nil {
		e := portal.Explain(err, m.cfg.Now(), m.cfg.Location)
		return m.end(func() { m.err = e }), nil
	}
	if err := m.cfg.Keyring.Set(ctx, keyring.AccountPendingEnrollment, enr.EnrollmentID); err != nil {
		return m.end(func() {
			m.enr, m.enrollmentID = enr, enr.EnrollmentID
			m.keyringPage(err, retrySaveEnrollment)
		}), nil
	}
	m.cfg.Logger.Info("enroll: new authenticator secret on request")
	return m.end(func() {
		m.enr, m.enrollmentID = enr, enr.EnrollmentID
		m.err, m.notice = nil, msg("enroll.notice.new_secret")
	}), nil
}

// applyClock blocks the authenticator step when the clock is off.
func (m *Machine) applyClock(offset time.Duration) {
	if cm := clockMessage(offset); cm != nil {
		m.cfg.Logger.Warn("enroll: clock off", "offset", offset.Round(time.Second))
		m.page, m.retry, m.err = PageClock, retryClock, cm
		return
	}
	m.page, m.retry, m.err = PageStep, retryNone, nil
}

// SubmitCode confirms the enrollment with the 6-digit code from the
// authenticator app. The format is checked here, the code by the portal.
func (m *Machine) SubmitCode(ctx context.Context, code string) (View, error) {
	if err := m.begin(stepPage, StepConfirm); err != nil {
		return m.View(), err
	}
	code, ok := authcode.Normalise(code)
	if !ok {
		return m.end(func() { m.err = msg("code.format") }), nil
	}
	m.mu.Lock()
	id := m.enrollmentID
	m.mu.Unlock()
	if id == "" {
		var err error
		id, err = m.cfg.Keyring.Get(ctx, keyring.AccountPendingEnrollment)
		if errors.Is(err, keyring.ErrNotFound) {
			return m.end(func() { m.startOver(msg("enroll.notice.sign_in_again")) }), nil
		}
		if err != nil {
			return m.end(func() { m.keyringPage(err, retryPage) }), nil
		}
	}
	conf, err := m.cfg.Portal.ConfirmEnrollment(ctx, id, code)
	if err != nil {
		m.cfg.Logger.Info("enroll: confirmation failed", "kind", portal.KindOf(err).String())
		e := portal.Explain(err, m.cfg.Now(), m.cfg.Location)
		return m.end(func() {
			switch portal.KindOf(err) {
			case portal.KindEnrollmentExpired, portal.KindActivationUsed:
				// Nothing to confirm any more: start over, saying why.
				m.startOver(nil)
				m.err = e
			default:
				m.enrollmentID = id
				m.err, m.notice = e, nil
			}
		}), nil
	}
	return m.end(func() {
		m.enrollmentID = id
		m.name = conf.DisplayName
		// The app has the secret now; the computer forgets it.
		m.enr, m.activation = nil, ""
		m.goTo(StepDevice)
	}), nil
}

// registerDevice is Next on the device step and its Retry: make the key
// pair, register, store, then run the connection test.
func (m *Machine) registerDevice(ctx context.Context) (View, error) {
	if err := m.begin([]Page{PageStep, PageKeyring}, StepDevice); err != nil {
		return m.View(), err
	}
	m.mu.Lock()
	id := m.enrollmentID
	m.mu.Unlock()
	reg, err := registerDevice(ctx, m.cfg.Keyring, m.cfg.Portal, m.cfg.Rand, id, m.cfg.DeviceName)
	if err != nil {
		return m.end(func() { m.deviceFailed(err) }), nil
	}
	m.cfg.Portal.SetCredential(reg.dev.Credential.Reveal())
	m.end(func() {
		m.enrolled = true
		m.enrollmentID = ""
		if reg.deviceID != "" {
			m.devID = reg.deviceID
		}
		m.checks, m.tested = nil, false
		m.goTo(StepTest)
	})
	return m.runTest(ctx)
}

func (m *Machine) deviceFailed(err error) {
	switch {
	case errors.Is(err, errEnrollmentLost):
		m.startOver(msg("enroll.notice.sign_in_again"))
	case errors.Is(err, keyring.ErrUnavailable), errors.Is(err, keyring.ErrLocked), errors.Is(err, keyring.ErrNotFound):
		m.keyringPage(err, retryDevice)
	case portal.KindOf(err) == portal.KindEnrollmentExpired:
		// The registration window closed. The pending key is harmless
		// and reused or replaced by the next setup.
		m.startOver(nil)
		m.err = portal.Explain(err, m.cfg.Now(), m.cfg.Location)
	default:
		m.cfg.Logger.Info("enroll: registration failed", "kind", portal.KindOf(err).String())
		m.page, m.retry, m.err = PageStep, retryDevice, portal.Explain(err, m.cfg.Now(), m.cfg.Location)
	}
}

// runTest checks the portal and this device's registration with the new
// credential. (The tunnel test joins once the session exists.)
func (m *Machine) runTest(ctx context.Context) (View, error) {
	if err := m.begin(stepPage, StepTest); err != nil {
		return m.View(), err
	}
	checks := []Check{{Name: "enroll.test.portal"}, {Name: "enroll.test.device"}}
	var fail *state.Message
	var devID string
	_, err := m.cfg.Portal.Health(ctx)
	if err == nil {
		checks[0].OK = true
		var dev *Device
		dev, err = LoadDevice(ctx, m.cfg.Keyring)
		if err == nil {
			var info *portal.DeviceInfo
			info, err = m.cfg.Portal.Device(ctx)
			switch {
			case err != nil:
			case info.PublicKey != dev.PublicKey:
				fail = msg("enroll.error.device_mismatch")
			default:
				checks[1].OK, devID = true, info.DeviceID
			}
		}
	}
	return m.end(func() {
		m.checks = checks
		switch {
		case err == nil && fail == nil:
			m.tested, m.err, m.retry = true, nil, retryNone
			if devID != "" && devID != m.devID {
				m.devID = devID
				m.save()
			}
		case errors.Is(err, keyring.ErrUnavailable), errors.Is(err, keyring.ErrLocked):
			m.keyringPage(err, retryTest)
		case errors.Is(err, ErrNoDevice), errors.Is(err, ErrIncomplete):
			m.goTo(StepDevice)
		default:
			if fail == nil {
				fail = portal.Explain(err, m.cfg.Now(), m.cfg.Location)
			}
			m.err, m.retry = fail, retryTest
		}
	}), nil
}

// Retry repeats what failed: the clock check, the keyring access, the
// device registration or the connection test.
func (m *Machine) Retry(ctx context.Context) (View, error) {
	m.mu.Lock()
	op := m.retry
	m.mu.Unlock()
	switch op {
	case retryClock:
		return m.recheckClock(ctx)
	case retryDevice:
		return m.registerDevice(ctx)
	case retryTest:
		m.mu.Lock()
		if m.page == PageKeyring && !m.busy {
			m.page = PageStep
		}
		m.mu.Unlock()
		return m.runTest(ctx)
	case retryResume:
		if err := m.begin([]Page{PageKeyring}); err != nil {
			return m.View(), err
		}
		f := gatherFacts(ctx, m.cfg.Keyring)
		return m.end(func() { m.resume(f) }), nil
	case retryPage:
		return m.instant([]Page{PageKeyring}, steps, func() {
			m.page, m.retry, m.err = PageStep, retryNone, nil
		})
	case retryNone:
		return m.saveAgain()
	case retrySaveEnrollment:
		if err := m.begin([]Page{PageKeyring}, StepAuthenticator); err != nil {
			return m.View(), err
		}
		m.mu.Lock()
		id := m.enrollmentID
		m.mu.Unlock()
		if err := m.cfg.Keyring.Set(ctx, keyring.AccountPendingEnrollment, id); err != nil {
			return m.end(func() { m.keyringPage(err, retrySaveEnrollment) }), nil
		}
		return m.recheckClockBusy(ctx)
	}
	return m.View(), ErrNotNow
}

// saveAgain is Retry after the progress file could not be written, e.g.
// once the employee made room on the disk.
func (m *Machine) saveAgain() (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.busy {
		return m.viewLocked(), ErrBusy
	}
	if m.warning == nil || m.retry != retryNone {
		return m.viewLocked(), ErrNotNow
	}
	m.save()
	return m.publishLocked(), nil
}

func (m *Machine) recheckClock(ctx context.Context) (View, error) {
	if err := m.begin([]Page{PageClock}, StepAuthenticator); err != nil {
		return m.View(), err
	}
	return m.recheckClockBusy(ctx)
}

// recheckClockBusy asks the portal for its time; the caller made the
// machine busy.
func (m *Machine) recheckClockBusy(ctx context.Context) (View, error) {
	server, err := m.cfg.Portal.Health(ctx)
	local := m.cfg.Now()
	return m.end(func() {
		if err != nil {
			m.page, m.retry, m.err = PageClock, retryClock, portal.Explain(err, local, m.cfg.Location)
			return
		}
		m.applyClock(server.Sub(local.Truncate(time.Second)))
	}), nil
}

// Restart abandons the setup and goes back to the welcome page (from Done:
// sets this computer up again, e.g. for a new phone). A registration that
// is already being committed is finished first, so the keyring never
// holds half a device; the device of an earlier setup stays until a new
// one replaces it.
func (m *Machine) Restart(ctx context.Context) (View, error) {
	if err := m.begin([]Page{PageStep, PageClock, PageKeyring}); err != nil {
		return m.View(), err
	}
	ks := m.cfg.Keyring
	_, err := rollForward(ctx, ks)
	for _, a := range []string{keyring.AccountPendingWireGuardKey, keyring.AccountPendingEnrollment} {
		if err != nil {
			break
		}
		err = ks.Delete(ctx, a)
	}
	if err != nil {
		// Leftovers are harmless: the next setup overwrites the pending
		// enrollment and reuses or replaces the pending key.
		m.cfg.Logger.Warn("enroll: restart could not clean the keyring", "err", err)
	}
	return m.end(func() {
		m.enr, m.activation, m.enrollmentID, m.checks, m.tested, m.devID, m.name = nil, "", "", nil, false, "", ""
		if err := removeProgress(m.cfg.StateDir); err != nil {
			m.cfg.Logger.Warn("enroll: restart", "err", err)
		}
		m.goTo(StepWelcome)
	}), nil
}

// Enrolled reports whether this computer is set up: the keyring holds a
// whole device (also while a new setup runs after Restart), or, while the
// keyring cannot be read, the wizard had reached Done. The progress file
// alone never makes a set-up computer look new.
func (m *Machine) Enrolled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.enrolledLocked()
}

func (m *Machine) enrolledLocked() bool { return m.enrolled || m.step == StepDone }

// String names the machine's position for logs.
func (m *Machine) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("enroll %s (%s, %s)", m.step.Code(), m.step, m.page)
}
