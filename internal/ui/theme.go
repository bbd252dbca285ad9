package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// largeTheme enlarges text for employees who are not at home with
// computers; everything else comes from Fyne's default theme.
type largeTheme struct{ fyne.Theme }

func newTheme() fyne.Theme { return largeTheme{theme.DefaultTheme()} }

func (t largeTheme) Size(name fyne.ThemeSizeName) float32 {
	switch name {
	case theme.SizeNameText:
		return 16
	case theme.SizeNameSubHeadingText:
		return 21
	case theme.SizeNameHeadingText:
		return 26
	}
	return t.Theme.Size(name)
}
