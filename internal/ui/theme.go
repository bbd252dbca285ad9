package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// largeTheme enlarges text for employees who are not at home with
// computers, and gives all text WCAG 2.1 AA contrast (4.5:1) in both
// variants; everything else comes from Fyne's default theme.
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

func (t largeTheme) Color(name fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	palette := darkColors
	if v == theme.VariantLight {
		palette = lightColors
	}
	if c, ok := palette[name]; ok {
		return c
	}
	return t.Theme.Color(name, v)
}

func rgb(r, g, b uint8) color.NRGBA { return color.NRGBA{R: r, G: g, B: b, A: 0xff} }

// Fyne's defaults that fall short, measured by TestTextContrast: the
// secondary text (Fyne's "disabled", used by low-importance labels) at
// 1.3:1 on light and 1.6:1 on dark, placeholders 3.2:1, error text 3.7:1,
// and the blue of links, step labels and the main button 4.0–4.5:1. The
// ratios in the comments are against the background and, for text on
// coloured buttons, of that text on the colour.
var (
	lightColors = map[fyne.ThemeColorName]color.Color{
		theme.ColorNameForeground:          rgb(0x1f, 0x1f, 0x1f), // 16.5; darker than Fyne's, so secondary text still differs
		theme.ColorNameDisabled:            rgb(0x5c, 0x5c, 0x5c), // 6.7; 4.7 on a selected row
		theme.ColorNamePlaceHolder:         rgb(0x6a, 0x6a, 0x6a), // 4.9 on the field
		theme.ColorNamePrimary:             rgb(0x0b, 0x57, 0xd0), // 6.4, and white on it 6.4
		theme.ColorNameHyperlink:           rgb(0x0b, 0x57, 0xd0),
		theme.ColorNameForegroundOnPrimary: rgb(0xff, 0xff, 0xff),
		theme.ColorNameError:               rgb(0xc6, 0x28, 0x28), // 5.6
		theme.ColorNameForegroundOnError:   rgb(0xff, 0xff, 0xff),
		theme.ColorNameSuccess:             rgb(0x2e, 0x7d, 0x32), // 5.1
		theme.ColorNameForegroundOnSuccess: rgb(0xff, 0xff, 0xff),
		theme.ColorNameWarning:             rgb(0xa8, 0x54, 0x00), // 5.3
		theme.ColorNameForegroundOnWarning: rgb(0xff, 0xff, 0xff),
	}
	darkColors = map[fyne.ThemeColorName]color.Color{
		theme.ColorNameDisabled:            rgb(0xa0, 0xa0, 0xa0), // 6.9
		theme.ColorNamePrimary:             rgb(0x6e, 0xa8, 0xfe), // 7.4, and dark text on it 7.4
		theme.ColorNameHyperlink:           rgb(0x6e, 0xa8, 0xfe),
		theme.ColorNameForegroundOnPrimary: rgb(0x17, 0x17, 0x18), // Fyne's dark background
		theme.ColorNameError:               rgb(0xff, 0x6b, 0x5e), // 6.4
	}
)
