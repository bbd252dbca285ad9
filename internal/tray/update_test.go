package tray

import (
	"testing"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/colorscheme"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/state"
)

func TestUpdateCheckSequences(t *testing.T) {
	t.Parallel()
	de := catalog(t, i18n.German)
	snap := func(st string) state.Snapshot {
		return state.Snapshot{Version: "1.4.0", Update: state.Update{State: st, Available: "1.5.0"}}
	}
	tests := []struct {
		name   string
		before string   // the state when the employee clicks
		after  []string // the states the tray sees afterwards
		title  string   // "" for no notification
	}{
		{"checked_up_to_date", "idle", []string{"checking", "up_to_date"}, "Dienstweg ist auf dem neuesten Stand"},
		{"checked_again_up_to_date", "up_to_date", []string{"checking", "up_to_date"}, "Dienstweg ist auf dem neuesten Stand"},
		{"checking_skipped_by_the_stream", "idle", []string{"up_to_date"}, "Dienstweg ist auf dem neuesten Stand"},
		{"found_one", "up_to_date", []string{"checking", "available", "downloading", "ready"}, "Version 1.5.0 ist verfügbar"},
		{"failed", "idle", []string{"checking", "error"}, "Update nicht möglich"},
		{"no_result_yet", "up_to_date", []string{"up_to_date"}, ""},
		{"still_checking", "idle", []string{"checking"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var u updateCheck
			if _, ok := u.see(snap(tt.before), de); ok {
				t.Fatal("notified before anyone asked")
			}
			u.ask()
			var titles []string
			for _, st := range tt.after {
				if n, ok := u.see(snap(st), de); ok {
					titles = append(titles, n.Title)
				}
			}
			switch {
			case tt.title == "" && len(titles) > 0:
				t.Errorf("notified %q, want nothing yet", titles)
			case tt.title != "" && (len(titles) != 1 || titles[0] != tt.title):
				t.Errorf("notified %q, want exactly %q", titles, tt.title)
			}
		})
	}
}

func TestUpdateNotificationExplains(t *testing.T) {
	t.Parallel()
	de := catalog(t, i18n.German)
	n := updateNotification(state.Snapshot{Update: state.Update{State: "error",
		Error: &state.Message{Key: "update.error.check_failed"}}}, de)
	if n.Body != "Die Suche nach Updates ist fehlgeschlagen. Es wird später erneut versucht." {
		t.Errorf("error body = %q", n.Body)
	}
	n = updateNotification(state.Snapshot{Update: state.Update{State: "managed", Available: "2.0.0",
		Error: &state.Message{Key: "update.managed", Args: map[string]string{"Version": "2.0.0"}}}}, de)
	if n.Title != "Version 2.0.0 ist verfügbar" || n.Body != "Ihr IT-Service verteilt das Update auf Version 2.0.0. Sie müssen nichts tun." {
		t.Errorf("managed = %q / %q", n.Title, n.Body)
	}
}

func TestPanelFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		desktop string
		scheme  colorscheme.Scheme
		want    assets.Panel
	}{
		{"kde_light", "KDE", colorscheme.Light, assets.PanelLight},
		{"kde_dark", "KDE", colorscheme.Dark, assets.PanelDark},
		{"no_preference_is_dark", "KDE", colorscheme.NoPreference, assets.PanelDark},
		{"windows_light_taskbar", "", colorscheme.Light, assets.PanelLight},
		{"windows_dark_taskbar", "", colorscheme.Dark, assets.PanelDark},
		// GNOME's top bar stays dark in the light style.
		{"ubuntu_light_style", "ubuntu:GNOME", colorscheme.Light, assets.PanelDark},
		{"gnome_light_style", "GNOME", colorscheme.Light, assets.PanelDark},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := panelFor(tt.desktop, tt.scheme); got != tt.want {
				t.Errorf("panelFor(%q, %v) = %s, want %s", tt.desktop, tt.scheme, panelName(got), panelName(tt.want))
			}
		})
	}
}
