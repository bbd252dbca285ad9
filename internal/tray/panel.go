package tray

import (
	"strings"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/colorscheme"
)

// panelFor picks the icon variant for the panel the desktop (a value of
// XDG_CURRENT_DESKTOP, "" on Windows) most likely shows. GNOME's top bar,
// Ubuntu's too, is dark whatever the colour scheme, so there the scheme
// says nothing about the panel. Elsewhere (KDE, Windows' taskbar setting)
// the panel follows it. Without a preference the panel counts as dark:
// Ubuntu's top bar and Windows 11's taskbar are dark by default.
func panelFor(desktop string, s colorscheme.Scheme) assets.Panel {
	for _, d := range strings.Split(desktop, ":") {
		if strings.EqualFold(d, "GNOME") {
			return assets.PanelDark
		}
	}
	if s == colorscheme.Light {
		return assets.PanelLight
	}
	return assets.PanelDark
}

func panelName(p assets.Panel) string {
	if p == assets.PanelLight {
		return "light"
	}
	return "dark"
}
