// Package tray shows the agent's state as a StatusNotifierItem with
// fyne.io/systray — plain D-Bus, no GTK and no OpenGL — and turns menu
// clicks into calls on the local API. It holds no state of its own.
package tray

import (
	"strconv"

	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Model is what the tray shows for one snapshot. It is a pure function of
// the snapshot so it can be table-tested without a bus.
type Model struct {
	Icon      string // a state name from assets.TrayStates
	Badge     bool   // unread outage or maintenance
	StateLine string
	Tooltip   string
	ShowStart bool
	// StartEnabled: "Start home office" can help now; StartWizard: it
	// opens the setup wizard, because the computer is not set up.
	StartEnabled bool
	StartWizard  bool
	ShowEnd      bool
	// Desktops are the "Arbeitsplatz öffnen" entries (issue 20), at
	// most maxDesktops.
	Desktops []DesktopEntry
	// ShowExtend: "Extend home office" opens the code prompt; a new code
	// moves the end of the day's authorisation, the connection stays.
	ShowExtend    bool
	Announcements string
	UpdateLabel   string
	UpdateEnabled bool
	// ShowUpdate is false where this build or profile has no self-update
	// (the agent says "off"): the entry could only fail.
	ShowUpdate bool
	SafeMode   bool
	// SafeModeLocked: IT's policy keeps safe mode on (safe_mode_always);
	// the entry is greyed.
	SafeModeLocked bool
	// NoProfile leaves only what still works without an organisation
	// profile: the state line, the status window and quit.
	NoProfile bool
}

// ModelFor renders a snapshot in the catalog's language. The state line,
// the icon and the start and end items render the snapshot's Verdict.
func ModelFor(s state.Snapshot, cat *i18n.Catalog) Model {
	v := s.Verdict
	line := cat.T(v.Headline.Key, v.Headline.Args)
	m := Model{
		Icon:           v.Icon.String(),
		Badge:          s.Announce.UnreadUrgent,
		StateLine:      line,
		Tooltip:        cat.T("tray.tooltip", map[string]string{"State": line}),
		ShowStart:      v.Start.Shown(),
		StartEnabled:   v.Start.Enabled(),
		StartWizard:    v.Start == state.StartWizard,
		ShowEnd:        v.End,
		ShowExtend:     v.Extend,
		UpdateLabel:    cat.T("tray.check_updates"),
		SafeMode:       s.SafeMode,
		SafeModeLocked: safeModeLocked(s.Settings),
		NoProfile:      s.ProfileMissing != "",
	}
	if m.Desktops = DesktopEntries(v.Desktops, cat); len(m.Desktops) > maxDesktops {
		m.Desktops = m.Desktops[:maxDesktops]
	}
	m.UpdateEnabled = s.Update.State != "checking" && s.Update.State != "downloading"
	// While something is happening, the entry says what instead.
	switch s.Update.State {
	case "checking", "downloading", "available", "ready":
		m.UpdateLabel = cat.T("update.state."+s.Update.State, map[string]string{"Version": s.Update.Available})
		if s.Update.State == "downloading" && s.Update.Progress > 0 {
			m.UpdateLabel += " " + strconv.Itoa(int(s.Update.Progress*100)) + " %"
		}
	}
	m.ShowUpdate = !m.NoProfile && s.Update.State != "off"
	if s.Announce.Unread > 0 {
		m.Announcements = cat.T("tray.announcements_unread", map[string]string{"Count": strconv.Itoa(s.Announce.Unread)})
	} else {
		m.Announcements = cat.T("tray.announcements")
	}
	return m
}

// safeModeLocked reports whether IT's policy keeps safe mode on.
func safeModeLocked(s state.Settings) bool {
	e, ok := s.Get(policy.KeySafeModeAlways)
	return ok && e.Locked && e.Value == true
}
