package ui

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// What Fyne 2.7 reads for the scale of its windows: FYNE_SCALE (or the
// scale in Fyne's own settings file) times a factor from the monitor. On
// Windows that factor is the display scaling the person set ("125 %"); on
// Wayland it is the compositor's. On X11 it is the monitor's physical DPI,
// so the desktop's own scale setting, which GNOME, KDE and Xfce publish as
// Xft.dpi, goes unnoticed. followXftDPI fills that gap.

// xftBaseDPI is Xft.dpi at 100 %.
const xftBaseDPI = 96

// followXftDPI sets FYNE_SCALE from the X desktop's Xft.dpi and turns off
// Fyne's guess from the monitor, which would otherwise scale twice. It does
// nothing if FYNE_SCALE is set (the person's own choice wins) or if the
// desktop publishes no Xft.dpi. Call it before the app is created.
func followXftDPI() {
	if os.Getenv("FYNE_SCALE") != "" || os.Getenv("WAYLAND_DISPLAY") != "" {
		return
	}
	scale, ok := xftScale(xResources())
	if !ok {
		return
	}
	os.Setenv("FYNE_SCALE", strconv.FormatFloat(scale, 'f', 2, 64))
	os.Setenv("FYNE_DISABLE_DPI_DETECTION", "1")
}

// xftScale finds Xft.dpi in X resources (the text of the root window's
// RESOURCE_MANAGER property, as `xrdb -query` prints it) and returns it as
// a scale, 1.25 for 120 dpi.
func xftScale(resources string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(resources))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) != "Xft.dpi" {
			continue
		}
		dpi, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		// Outside 0.5x–4x is a broken setting, not a scale.
		if err != nil || dpi < xftBaseDPI/2 || dpi > 4*xftBaseDPI {
			return 0, false
		}
		return dpi / xftBaseDPI, true
	}
	return 0, false
}
