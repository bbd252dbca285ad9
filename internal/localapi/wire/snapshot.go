// Package wire is the local API's format: the JSON that the agent serves
// and that the windows, the tray and `dienstweg status --json` read. It
// holds data types only and imports nothing of the agent, so a client
// links the format without the agent's code (as portal/api and
// helper/helperapi do for their APIs). A change here changes a contract
// with helpdesk scripts: the golden files in internal/cli/testdata guard it.
package wire

import (
	"encoding/json"
	"fmt"
	"time"
)

// Session is the home-office session state, one of the seven in PRODUCT.md.
type Session int

// The session states. Their String values are stable: they name the tray
// icons, translation keys and the JSON of `dienstweg status`.
const (
	NotConnected Session = iota
	Connecting
	Connected
	Limited
	NoInternet
	CodeNeeded
	Problem
)

var sessionNames = [...]string{
	NotConnected: "not_connected",
	Connecting:   "connecting",
	Connected:    "connected",
	Limited:      "limited",
	NoInternet:   "no_internet",
	CodeNeeded:   "code_needed",
	Problem:      "problem",
}

// Sessions lists all states in PRODUCT.md order.
func Sessions() []Session {
	return []Session{NotConnected, Connecting, Connected, Limited, NoInternet, CodeNeeded, Problem}
}

func (s Session) String() string {
	if s < 0 || int(s) >= len(sessionNames) {
		return fmt.Sprintf("session(%d)", int(s))
	}
	return sessionNames[s]
}

// ParseSession is the inverse of String.
func ParseSession(name string) (Session, error) {
	for i, n := range sessionNames {
		if n == name {
			return Session(i), nil
		}
	}
	return 0, fmt.Errorf("unknown session state %q", name)
}

// Active reports whether a home-office session is under way in state s,
// so that "End home office" applies rather than "Start"; running is
// whether the session controller holds one (its tunnel is up, or its
// supervisor renews it). It is the one rule for "is something running
// that can be ended". Problem is the one state that names both: a
// running session whose tunnel carries nothing (End stays), and a start
// that failed or a device the portal dropped, where nothing runs and a
// new start is the way on. The others name one side alone: Connecting a
// start or renewal under way; Connected, Limited and No internet (set
// by the health checks only while the tunnel and authorisation hold, so
// the session goes on back online) a running session; Not connected and
// Code needed none.
func (s Session) Active(running bool) bool {
	switch s {
	case Connecting, Connected, Limited, NoInternet:
		return true
	case Problem:
		return running
	}
	return false
}

// MarshalText makes Session appear by name in JSON.
func (s Session) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a name.
func (s *Session) UnmarshalText(b []byte) error {
	v, err := ParseSession(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Message is a translatable text: a key of the translation files plus its
// arguments, so each process renders it in its own language.
type Message struct {
	Key  string            `json:"key"`
	Args map[string]string `json:"args,omitempty"`
}

// Link is one link of the health chain.
type Link struct {
	Code    string  `json:"code"`
	OK      bool    `json:"ok"`
	Detail  Message `json:"detail"`
	Latency float64 `json:"latency_ms,omitempty"`
	// Target names the office service of an office_services link (there
	// is one such link per configured service).
	Target string `json:"target,omitempty"`
	// Skipped means the link was not checked because an earlier one
	// fails; OK is then false but says nothing about this link.
	Skipped bool `json:"skipped,omitempty"`
	// History is the recent latency of an office service, oldest first,
	// for the sparkline in the status window.
	History []Sample `json:"history,omitempty"`
}

// Sample is one probe of an office service.
type Sample struct {
	At      time.Time `json:"at"`
	OK      bool      `json:"ok"`
	Latency float64   `json:"latency_ms,omitempty"`
}

// Health summarises the health chain.
type Health struct {
	Links     []Link    `json:"links,omitempty"`
	Diagnosis *Message  `json:"diagnosis,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// ChangedAt is when a link or the diagnosis last changed.
	ChangedAt time.Time `json:"changed_at,omitzero"`
	// ClockOffset is the local clock minus the portal's, in seconds; nil
	// until the portal has answered once.
	ClockOffset *float64 `json:"clock_offset_s,omitempty"`
}

// Announcements summarises the feed for the tray badge.
type Announcements struct {
	Unread int `json:"unread"`
	// UnreadUrgent is true when an unread one is an outage or maintenance.
	UnreadUrgent bool `json:"unread_urgent"`
}

// Update is the self-update status.
type Update struct {
	// State is "idle", "checking", "available", "downloading", "ready",
	// "up_to_date", "managed", "error", or "off" (no self-update in this
	// build or profile).
	State     string  `json:"state"`
	Available string  `json:"available,omitempty"`
	Progress  float64 `json:"progress,omitempty"`
	// Chosen is the employee's answer to "install now?" while a session
	// is up: "now" or "session_end" (the default); "" before asking.
	Chosen string   `json:"chosen,omitempty"`
	Error  *Message `json:"error,omitempty"`
}

// Enrollment says whether this device is set up.
type Enrollment struct {
	Enrolled bool   `json:"enrolled"`
	Step     string `json:"step,omitempty"`
	User     string `json:"user,omitempty"`
}

// Keyring says whether the device's secrets can be read: the keyring
// (Secret Service) runs and is unlocked.
type Keyring struct {
	// State is "" (not known yet, or not checked), "ok", "locked" or
	// "unavailable".
	State string `json:"state,omitempty"`
	// Message tells the employee what to do; nil when ok.
	Message *Message `json:"message,omitempty"`
}

// Keyring states.
const (
	KeyringOK          = "ok"
	KeyringLocked      = "locked"
	KeyringUnavailable = "unavailable"
)

// ErrorEntry is one recent error, for the support window.
type ErrorEntry struct {
	Time    time.Time `json:"time"`
	Message Message   `json:"message"`
}

// Snapshot is the whole visible state at one moment. Snapshots are values:
// the store hands out copies, never shared slices.
type Snapshot struct {
	// Seq increases with every change, so clients can drop stale updates.
	Seq          uint64        `json:"seq"`
	Version      string        `json:"version"`
	Organisation string        `json:"organisation"`
	SupportCode  string        `json:"support_code"`
	DeviceName   string        `json:"device_name"`
	Demo         bool          `json:"demo"`
	Language     string        `json:"language"`
	Session      Session       `json:"session"`
	Since        time.Time     `json:"since"`
	Detail       *Message      `json:"detail,omitempty"`
	Health       Health        `json:"health"`
	Announce     Announcements `json:"announcements"`
	Update       Update        `json:"update"`
	Enrollment   Enrollment    `json:"enrollment"`
	Keyring      Keyring       `json:"keyring"`
	TrayVisible  bool          `json:"tray_visible"`
	// SafeMode hides QR codes, keys, the user name and tokens in every
	// window, for screen sharing with the helpdesk.
	SafeMode     bool         `json:"safe_mode"`
	RecentErrors []ErrorEntry `json:"recent_errors,omitempty"`
	Helpdesk     Helpdesk     `json:"helpdesk"`
	// DemoLogin is the demo organisation's sign-in, shown by the wizard;
	// nil outside demo mode.
	DemoLogin *DemoLogin `json:"demo_login,omitempty"`
	// ProfileMissing is where the agent looked for the organisation
	// profile and found none. The agent then runs only to say so.
	ProfileMissing string `json:"profile_missing,omitempty"`
	// LockedUntil: after too many wrong codes the portal refuses new
	// ones until then; zero when no lock holds.
	LockedUntil time.Time `json:"locked_until,omitzero"`
	// Tunnel says how home office reaches the office on this computer.
	Tunnel Tunnel `json:"tunnel"`
	// Settings are the settings IT may lock, as they apply, with where
	// each value came from (internal/policy).
	Settings Settings `json:"settings"`
	// Office is what the in-office check found.
	Office Office `json:"office"`
	// Authorisation is the day's authorisation of home office: its end,
	// the warning before it, and whether it ran out.
	Authorisation Authorisation `json:"authorisation"`
	// Hours are the person's working hours, as the portal last said.
	Hours Hours `json:"hours,omitzero"`
	// Running: the session controller holds a session (its tunnel is up,
	// or being renewed). Session.Active(Running) says whether it can be
	// ended; after a failed start Session may be Problem with none.
	Running bool `json:"running,omitempty"`
	// Verdict is what the employee is told and offered. One function
	// derives it from the rest of the snapshot on every change, so the
	// headline, the advice and the actions never disagree.
	Verdict Verdict `json:"verdict"`
}

// Office is what the in-office check (profile office_check) found.
type Office struct {
	// InOffice: the last check reached the office's own host outside
	// the tunnel, with a certificate of the organisation's pinned CA.
	InOffice bool `json:"in_office,omitempty"`
	// StartAllowed: IT offers home office in the office too
	// (allow_start_in_office).
	StartAllowed bool `json:"start_allowed,omitempty"`
}

// Authorisation is what the portal allowed for today, as the session
// controller knows it.
type Authorisation struct {
	// Until is its end while a session runs, and after it expired; zero
	// otherwise.
	Until time.Time `json:"until,omitzero"`
	// EndsSoon: a running session ends within the warning time; a new
	// code extends it (Verdict.Extend).
	EndsSoon bool `json:"ends_soon,omitempty"`
	// Expired: the last session ended because its authorisation ran
	// out, and no new one started since.
	Expired bool `json:"expired,omitempty"`
}

// Hours are the person's working hours as the portal said them
// (portal.HoursAt, at the agent's clock). Nothing known means: home
// office may start, and the portal's answer to the start decides.
type Hours struct {
	// Asked: the agent has asked the portal since it started, answered
	// or not; the automatic code prompt waits for it.
	Asked bool `json:"asked,omitempty"`
	// Outside: now is outside the working hours; false when not known.
	Outside bool `json:"outside,omitempty"`
	// NextStart is when home office is possible again, while Outside;
	// zero when the portal's answer does not reach that far. NextToday:
	// it is on today's date (local time).
	NextStart time.Time `json:"next_start,omitzero"`
	NextToday bool      `json:"next_today,omitempty"`
	// Weekdays ("mo" … "so"), From and Until ("HH:MM") are the rule as
	// the portal states it, for people to read.
	Weekdays []string `json:"weekdays,omitempty"`
	From     string   `json:"from,omitempty"`
	Until    string   `json:"until,omitempty"`
}

// Tunnel is how the tunnel reaches the office: through the privileged
// helper for every program, or inside the agent for programs set to use
// its proxy only.
type Tunnel struct {
	// Policy is the profile's tunnel mode: "system", "auto" or
	// "userspace" (profile.TunnelSystem, ...).
	Policy string `json:"policy,omitempty"`
	// Mode is how the tunnel runs, or would run if started now:
	// TunnelModeSystem, TunnelModeUserspace, or "" when there is no way
	// (the policy needs the helper and it does not answer) or the helper
	// has not been asked yet.
	Mode string `json:"mode,omitempty"`
	// Helper is what the last look at the privileged helper found:
	// HelperAnswers, HelperMissing, HelperRefused, or "" (not asked: the
	// policy forces userspace, or not yet).
	Helper string `json:"helper,omitempty"`
	// Proxy is the SOCKS5 address that programs must use in userspace
	// mode; "" for none.
	Proxy string `json:"proxy,omitempty"`
}

// Tunnel modes (Tunnel.Mode).
const (
	TunnelModeSystem    = "system"
	TunnelModeUserspace = "userspace"
)

// What a look at the helper found (Tunnel.Helper).
const (
	// HelperAnswers: the helper runs and lets this user use it.
	HelperAnswers = "answers"
	// HelperMissing: nothing answers on the helper's socket (not
	// installed, or not running).
	HelperMissing = "missing"
	// HelperRefused: the helper runs but refuses this user (not in the
	// allowed group), or answered with an error.
	HelperRefused = "refused"
)

// Verdict is the employee's view of the situation: the tray, the windows
// and the command line only render it.
type Verdict struct {
	// Situation is a stable name for scripts and tests: not_set_up,
	// keyring_locked, locked_out, offline, portal_down, ... or the
	// session's state.
	Situation string `json:"situation"`
	// Icon is the state whose tray icon and colour are shown.
	Icon Session `json:"icon"`
	// Headline is the one-line state ("Keine Internetverbindung").
	Headline Message `json:"headline"`
	// Advice is "what you can do now", in line with Start and End.
	Advice Message `json:"advice"`
	// Start is what "Start home office" does: StartCode opens the code
	// prompt, StartWizard the setup wizard; StartDisabled shows it greyed
	// out, StartHidden (a session runs) does not show it.
	Start StartAction `json:"start,omitempty"`
	// End: "End home office" is offered.
	End bool `json:"end,omitempty"`
	// Desktops are the office desktops (profile names) that "Arbeitsplatz
	// öffnen" offers now: the session is up and each one answers.
	Desktops []string `json:"desktops,omitempty"`
	// Extend: "Extend home office" is offered; it opens the code
	// prompt, and a new code moves the end while the tunnel stays up.
	Extend bool `json:"extend,omitempty"`
}

// StartAction is what "Start home office" does in a situation.
type StartAction string

// The start actions.
const (
	StartHidden   StartAction = ""
	StartDisabled StartAction = "disabled"
	StartCode     StartAction = "code"
	StartWizard   StartAction = "wizard"
)

// Shown reports whether "Start home office" is in the menu.
func (a StartAction) Shown() bool { return a != StartHidden }

// Enabled reports whether clicking it does something.
func (a StartAction) Enabled() bool { return a == StartCode || a == StartWizard }

// DemoLogin is a demo user's name and activation code.
type DemoLogin struct {
	User           string `json:"user"`
	ActivationCode string `json:"activation_code"`
}

// Helpdesk is the contact from the profile.
type Helpdesk struct {
	Phone string `json:"phone,omitempty"`
	Hours string `json:"hours,omitempty"`
	Email string `json:"email,omitempty"`
}

// String renders a snapshot compactly for logs.
func (s Snapshot) String() string {
	b, _ := json.Marshal(struct {
		Seq     uint64  `json:"seq"`
		Session Session `json:"session"`
		Unread  int     `json:"unread"`
	}{s.Seq, s.Session, s.Announce.Unread})
	return string(b)
}
