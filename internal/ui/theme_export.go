package ui

import "fyne.io/fyne/v2"

// Theme is the windows' theme, for programs that draw beside them (the
// wizard's CPU benchmark compares a bare Fyne window in the same theme).
func Theme() fyne.Theme { return newTheme() }
