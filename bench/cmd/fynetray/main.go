// Command fynetray is the benchmark's reference point: the smallest Fyne
// app that shows a tray icon with a menu (desktop.App.SetSystemTrayMenu)
// and no window. Fyne's tray still runs the GL driver and creates a hidden
// window, which is why the agent uses fyne.io/systray directly instead.
package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
)

func main() {
	a := app.NewWithID("de.dienstweg.bench.fynetray")
	a.SetIcon(theme.ComputerIcon())
	desk, ok := a.(desktop.App)
	if !ok {
		panic("fynetray: this driver has no system tray")
	}
	// The same shape as the agent's menu, so both export a similar layout.
	desk.SetSystemTrayMenu(fyne.NewMenu("Dienstweg",
		fyne.NewMenuItem("Homeoffice nicht verbunden", nil),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Homeoffice starten", func() {}),
		fyne.NewMenuItem("Status", func() {}),
		fyne.NewMenuItem("Hilfe & Support", func() {}),
		fyne.NewMenuItem("Nach Updates suchen", func() {}),
	))
	a.Run()
}
