package tray

import (
	"sync"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/state"
)

// updateCheck remembers a check for updates that the employee asked for,
// until a snapshot shows its result. The state stream may skip
// "checking" when two changes come close together, so a result also
// counts when it differs from the state at the click. It is safe for
// concurrent use (a click and the state loop).
type updateCheck struct {
	mu     sync.Mutex
	asked  bool
	before string // Update.State at the click
	busy   bool   // "checking" was seen since
	last   string // the latest Update.State
}

func (u *updateCheck) ask() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked, u.before, u.busy = true, u.last, false
}

func (u *updateCheck) cancel() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked = false
}

// see takes the next snapshot and returns the notification to show when
// it holds the result of the check asked for.
func (u *updateCheck) see(s state.Snapshot, cat *i18n.Catalog) (announce.Notification, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	st := s.Update.State
	u.last = st
	if !u.asked {
		return announce.Notification{}, false
	}
	switch st {
	case "checking":
		u.busy = true
		return announce.Notification{}, false
	case "up_to_date", "available", "downloading", "ready", "managed", "error":
		if !u.busy && st == u.before {
			return announce.Notification{}, false
		}
		u.asked = false
		return updateNotification(s, cat), true
	}
	return announce.Notification{}, false
}

// updateNotification says what a check found, in the words the status
// window uses.
func updateNotification(s state.Snapshot, cat *i18n.Catalog) announce.Notification {
	u := s.Update
	version := map[string]string{"Version": u.Available}
	n := announce.Notification{ID: "update-check", Severity: announce.SeverityInfo}
	message := func(fallback string) string {
		if u.Error != nil && u.Error.Key != "" {
			return cat.T(u.Error.Key, u.Error.Args)
		}
		return cat.T(fallback)
	}
	switch u.State {
	case "up_to_date":
		n.Title = cat.T("update.state.up_to_date")
		n.Body = cat.T("tray.update.installed", map[string]string{"Version": s.Version})
	case "available", "downloading":
		n.Title = cat.T("update.state.available", version)
		n.Body = cat.T("tray.update.loading")
	case "ready":
		n.Title = cat.T("update.state.ready", version)
		n.Body = cat.T("update.ask.body", version)
	case "managed":
		n.Title = cat.T("update.state.managed", version)
		n.Body = message("update.managed")
	default:
		n.Title = cat.T("update.state.error")
		n.Body = message("update.error.check_failed")
	}
	return n
}
