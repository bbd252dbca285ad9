// Package assets holds Dienstweg's embedded resources.
package assets

import (
	"bytes"
	"embed"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"slices"

	"github.com/dienstweg/dienstweg/assets/gen/iconart"
)

// The icons are drawn by assets/gen (package iconart); regenerate them with
// `go run ./assets/gen` from the repository root, never by hand.
//
//go:generate go run ./gen -out icons

//go:embed icons/*.png icons/*.svg
var icons embed.FS

// Panel is the brightness of the panel a tray icon is shown on.
type Panel int

const (
	// PanelAuto follows the desktop's setting (see internal/tray); it is
	// the zero value so that nobody gets a fixed variant by accident.
	// TrayIcon needs one of the two others.
	PanelAuto  Panel = iota
	PanelLight       // light panel: dark glyph
	PanelDark        // dark panel: light glyph
)

// ParsePanel reads a --tray-panel value: auto, light or dark.
func ParsePanel(s string) (Panel, error) {
	switch s {
	case "auto", "":
		return PanelAuto, nil
	case "light":
		return PanelLight, nil
	case "dark":
		return PanelDark, nil
	}
	return PanelAuto, fmt.Errorf("unknown panel %q (want auto, light or dark)", s)
}

func (p Panel) variant() (string, error) {
	switch p {
	case PanelLight:
		return "light", nil
	case PanelDark:
		return "dark", nil
	}
	return "", fmt.Errorf("unknown panel %d", int(p))
}

// TrayStates returns the session state names in PRODUCT.md order:
// not_connected, connecting, connected, limited, no_internet, code_needed,
// problem.
func TrayStates() []string { return slices.Clone(iconart.States) }

// TraySizes returns the pixel sizes TrayIcon has, smallest first.
func TraySizes() []int { return slices.Clone(iconart.Sizes) }

// TrayIcon returns the PNG for a state at size px (one of TraySizes) for the
// given panel. The bytes are the caller's own.
func TrayIcon(state string, panel Panel, size int) ([]byte, error) {
	v, err := panel.variant()
	if err != nil {
		return nil, fmt.Errorf("tray icon: %w", err)
	}
	if !slices.Contains(iconart.States, state) {
		return nil, fmt.Errorf("tray icon: unknown state %q", state)
	}
	if !slices.Contains(iconart.Sizes, size) {
		return nil, fmt.Errorf("tray icon: no %d px size (have %v)", size, iconart.Sizes)
	}
	b, err := icons.ReadFile("icons/" + iconart.TrayName(state, v, size))
	if err != nil {
		return nil, fmt.Errorf("tray icon: %w", err)
	}
	return b, nil
}

// AppIcon returns the 512 px app icon PNG.
func AppIcon() []byte { return mustRead("icons/app-512.png") }

// AppIcon256 returns the 256 px app icon PNG.
func AppIcon256() []byte { return mustRead("icons/app-256.png") }

// AppIconSVG returns the app icon as SVG (same motif as AppIcon).
func AppIconSVG() []byte { return mustRead("icons/app.svg") }

// mustRead reads an embedded file that the tests prove is present.
func mustRead(name string) []byte {
	b, err := icons.ReadFile(name)
	if err != nil {
		panic("assets: " + err.Error())
	}
	return b
}

// WithBadge returns the icon with a small red dot in a white ring in its
// top-right corner, which marks unread announcements. Pixels outside the dot
// are unchanged.
func WithBadge(pngData []byte) ([]byte, error) {
	src, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return nil, fmt.Errorf("badge: decoding icon: %w", err)
	}
	img := toNRGBA(src)
	iconart.AddBadge(img)
	out, err := iconart.Encode(img)
	if err != nil {
		return nil, fmt.Errorf("badge: %w", err)
	}
	return out, nil
}

// toNRGBA returns a copy of src as NRGBA. An NRGBA source is copied as is:
// going through premultiplied colour would alter the colour of faint
// anti-aliased pixels that the badge does not cover.
func toNRGBA(src image.Image) *image.NRGBA {
	b := src.Bounds()
	img := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if n, ok := src.(*image.NRGBA); ok {
		for y := 0; y < b.Dy(); y++ {
			copy(img.Pix[y*img.Stride:(y+1)*img.Stride], n.Pix[n.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return img
	}
	draw.Draw(img, img.Bounds(), src, b.Min, draw.Src)
	return img
}
