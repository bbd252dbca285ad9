package tray

import (
	"slices"
	"testing"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/state"
)

// "Arbeitsplatz öffnen" (issue 20) is in the menu while the session is
// up and the desktop answers; a click asks the agent to open it and a
// notification says with which program.
func TestOpenDesktopEntry(t *testing.T) {
	c := newFakeClient()
	notes := &recordingNotifier{ch: make(chan struct{}, 4)}
	item, ctx := runTray(t, c, Options{Panel: assets.PanelDark, Notifier: notes})
	menu, err := item.Menu(ctx)
	if err != nil {
		t.Fatalf("Menu: %v", err)
	}
	desk := func(ok bool) state.Snapshot {
		return state.Snapshot{Session: state.Connected, TrayVisible: true, Health: state.Health{Links: []state.Link{
			{Code: health.Gateway, OK: true},
			{Code: health.OfficeDesktop, Target: "Arbeitsplatz Bürgerbüro", OK: ok},
		}}}
	}
	c.snaps <- desk(false)
	if _, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		line, _ := n.FindByLabel("Homeoffice beenden")
		e, found := n.FindByLabel("Arbeitsplatz öffnen")
		return line.Visible && (!found || !e.Visible)
	}); err != nil {
		t.Fatalf("entry with the desktop not answering: %v", err)
	}
	c.snaps <- desk(true)
	layout, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		e, ok := n.FindByLabel("Arbeitsplatz öffnen")
		return ok && e.Visible && e.Enabled
	})
	if err != nil {
		t.Fatalf("entry not shown with the desktop answering: %v", err)
	}
	entry, _ := layout.FindByLabel("Arbeitsplatz öffnen")
	if err := menu.Click(ctx, entry.ID); err != nil {
		t.Fatalf("Click: %v", err)
	}
	select {
	case <-notes.ch:
	case <-ctx.Done():
		t.Fatal("no notification after opening")
	}
	c.mu.Lock()
	got := slices.Clone(c.desktops)
	c.mu.Unlock()
	if !slices.Equal(got, []string{"Arbeitsplatz Bürgerbüro"}) {
		t.Errorf("desktops opened = %q", got)
	}
	notes.mu.Lock()
	n := notes.got[0]
	notes.mu.Unlock()
	if n.Title != "Arbeitsplatz öffnen" || n.Body != "„Arbeitsplatz Bürgerbüro“ wird mit FreeRDP geöffnet. Melden Sie sich dort an wie im Büro." {
		t.Errorf("notification = %q / %q", n.Title, n.Body)
	}
}
