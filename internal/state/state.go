// Package state is the agent's store of everything the employee can see:
// the session state, the health summary, unread announcements, update and
// enrollment status. One projection in the agent writes it from the
// components' own states; the local API serves it, and through it every
// window, the tray and the command line read it. Its types are the wire
// format's (internal/localapi/wire), named here for the agent's code.
package state

import "github.com/dienstweg/dienstweg/internal/localapi/wire"

// The snapshot's types, defined by the wire format.
type (
	Snapshot      = wire.Snapshot
	Session       = wire.Session
	Message       = wire.Message
	Link          = wire.Link
	Sample        = wire.Sample
	Health        = wire.Health
	Announcements = wire.Announcements
	Update        = wire.Update
	Enrollment    = wire.Enrollment
	Keyring       = wire.Keyring
	ErrorEntry    = wire.ErrorEntry
	DemoLogin     = wire.DemoLogin
	Helpdesk      = wire.Helpdesk
	Verdict       = wire.Verdict
	StartAction   = wire.StartAction
	Tunnel        = wire.Tunnel
	Settings      = wire.Settings
	Setting       = wire.Setting
	Office        = wire.Office
	Authorisation = wire.Authorisation
	Hours         = wire.Hours
)

// What "Start home office" does (see wire.StartAction).
const (
	StartHidden   = wire.StartHidden
	StartDisabled = wire.StartDisabled
	StartCode     = wire.StartCode
	StartWizard   = wire.StartWizard
)

// The session states (see wire.Session).
const (
	NotConnected = wire.NotConnected
	Connecting   = wire.Connecting
	Connected    = wire.Connected
	Limited      = wire.Limited
	NoInternet   = wire.NoInternet
	CodeNeeded   = wire.CodeNeeded
	Problem      = wire.Problem
)

// Tunnel modes and what a look at the helper found (see wire.Tunnel).
const (
	TunnelModeSystem    = wire.TunnelModeSystem
	TunnelModeUserspace = wire.TunnelModeUserspace
	HelperAnswers       = wire.HelperAnswers
	HelperMissing       = wire.HelperMissing
	HelperRefused       = wire.HelperRefused
)

// Keyring states.
const (
	KeyringOK          = wire.KeyringOK
	KeyringLocked      = wire.KeyringLocked
	KeyringUnavailable = wire.KeyringUnavailable
)

// Sessions lists all states in PRODUCT.md order.
func Sessions() []Session { return wire.Sessions() }

// ParseSession is the inverse of Session.String.
func ParseSession(name string) (Session, error) { return wire.ParseSession(name) }

// clone deep-copies the slices and pointers so that readers can keep a
// snapshot while the store changes.
func clone(s Snapshot) Snapshot {
	// A JSON round trip would do, but is slow on the hot path of every
	// publish; copy the few reference fields by hand.
	c := s
	c.Detail = cloneMsg(s.Detail)
	c.Health.Diagnosis = cloneMsg(s.Health.Diagnosis)
	if s.Health.ClockOffset != nil {
		off := *s.Health.ClockOffset
		c.Health.ClockOffset = &off
	}
	c.Health.Links = append([]Link(nil), s.Health.Links...)
	for i := range c.Health.Links {
		c.Health.Links[i].Detail = *cloneMsg(&c.Health.Links[i].Detail)
		if h := c.Health.Links[i].History; h != nil {
			c.Health.Links[i].History = append([]Sample(nil), h...)
		}
	}
	c.Update.Error = cloneMsg(s.Update.Error)
	c.Keyring.Message = cloneMsg(s.Keyring.Message)
	if s.DemoLogin != nil {
		d := *s.DemoLogin
		c.DemoLogin = &d
	}
	c.Verdict.Headline = *cloneMsg(&s.Verdict.Headline)
	c.Verdict.Advice = *cloneMsg(&s.Verdict.Advice)
	if s.Verdict.Desktops != nil {
		c.Verdict.Desktops = append([]string(nil), s.Verdict.Desktops...)
	}
	c.Hours.Weekdays = append([]string(nil), s.Hours.Weekdays...)
	c.Settings.Problems = append([]string(nil), s.Settings.Problems...)
	c.Settings.List = append([]Setting(nil), s.Settings.List...) // values are scalars
	c.RecentErrors = append([]ErrorEntry(nil), s.RecentErrors...)
	for i := range c.RecentErrors {
		c.RecentErrors[i].Message = *cloneMsg(&c.RecentErrors[i].Message)
	}
	return c
}

func cloneMsg(m *Message) *Message {
	if m == nil {
		return nil
	}
	c := Message{Key: m.Key}
	if m.Args != nil {
		c.Args = make(map[string]string, len(m.Args))
		for k, v := range m.Args {
			c.Args[k] = v
		}
	}
	return &c
}
