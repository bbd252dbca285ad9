package tray

import (
	"context"
	"errors"

	"fyne.io/systray"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/desktop"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
)

// maxDesktops is how many office desktops the menu offers; an
// organisation with more names the others in the status window.
const maxDesktops = 3

// DesktopEntry is one "Arbeitsplatz öffnen" entry.
type DesktopEntry struct {
	Name  string // as the profile names it, for the agent
	Label string
}

// DesktopEntries labels the desktops the verdict offers
// (desktop.ButtonLabels).
func DesktopEntries(names []string, cat *i18n.Catalog) []DesktopEntry {
	var out []DesktopEntry
	for i, l := range desktop.ButtonLabels(names) {
		out = append(out, DesktopEntry{Name: names[i], Label: cat.T(l.Key, l.Args)})
	}
	return out
}

func (t *tray) applyDesktops(m, last Model, force bool) {
	for i, item := range t.it.desktops {
		if i >= len(m.Desktops) {
			item.Hide()
			continue
		}
		if force || i >= len(last.Desktops) || m.Desktops[i].Label != last.Desktops[i].Label {
			item.SetTitle(m.Desktops[i].Label)
		}
		item.Show()
	}
}

// openDesktop opens the desktop the clicked entry shows. The menu is
// gone after the click, so a notification says which program opens it,
// or, if none can, what to install.
func (t *tray) openDesktop(i int) func(context.Context) error {
	return func(ctx context.Context) error {
		m := t.shown.Load()
		if m == nil || i >= len(m.Desktops) {
			return nil
		}
		e := m.Desktops[i]
		cat := t.opts.Catalog
		opened, err := t.c.OpenDesktop(ctx, e.Name)
		n := announce.Notification{ID: "desktop", Severity: announce.SeverityInfo, Title: e.Label}
		var apiErr *localapi.Error
		switch {
		case err == nil:
			n.Body = cat.T(opened.Message.Key, opened.Message.Args)
		case errors.As(err, &apiErr) && apiErr.Key != "":
			n.Body = cat.T(apiErr.Key, apiErr.Args)
		default:
			return err
		}
		t.notify(ctx, n)
		return err
	}
}

func addDesktopItems() []*systray.MenuItem {
	items := make([]*systray.MenuItem, maxDesktops)
	for i := range items {
		items[i] = systray.AddMenuItem("", "")
		items[i].Hide()
	}
	return items
}
