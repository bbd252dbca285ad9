package agent

import (
	"context"
	"fmt"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/localapi"
)

// newAnnouncements builds the poller of IT's announcements; it shows the
// cached feed at once and polls the portal from Run.
func (a *Agent) newAnnouncements() (*announce.Poller, error) {
	p, err := announce.New(
		announce.Deps{Feed: a.portal, Notifier: a.notifier(), Logger: a.log, Now: a.opts.Now},
		announce.Config{CacheDir: a.opts.CacheDir, StateDir: a.opts.StateDir, Lang: a.opts.Lang},
	)
	if err != nil {
		return nil, fmt.Errorf("announcements: %w", err)
	}
	return p, nil
}

// Announcements implements localapi.Announcements: what the window lists.
func (a *Agent) Announcements(context.Context) ([]announce.Item, error) {
	return a.announce.List(a.opts.Lang), nil
}

// MarkRead implements localapi.Announcements.
func (a *Agent) MarkRead(_ context.Context, req localapi.MarkReadRequest) error {
	if req.All {
		return a.announce.MarkAllRead()
	}
	return a.announce.MarkRead(req.IDs)
}
