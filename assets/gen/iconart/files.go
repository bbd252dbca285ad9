// Package iconart draws Dienstweg's tray and app icons. It has no image files
// of its own: everything is drawn from code, so the same input always gives
// the same bytes and nobody edits a PNG by hand.
package iconart

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"sort"
)

// Encode writes img as PNG with fixed settings, so output is reproducible.
func Encode(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding png: %w", err)
	}
	return buf.Bytes(), nil
}

// Files returns every generated file by name.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, st := range States {
		for _, v := range Variants {
			for _, sz := range Sizes {
				img, err := DrawTray(st, v, sz)
				if err != nil {
					return nil, err
				}
				b, err := Encode(img)
				if err != nil {
					return nil, err
				}
				out[TrayName(st, v, sz)] = b
			}
		}
	}
	for _, sz := range AppSizes {
		b, err := Encode(DrawApp(sz))
		if err != nil {
			return nil, err
		}
		out[fmt.Sprintf("app-%d.png", sz)] = b
	}
	out["app.svg"] = AppSVG()
	return out, nil
}

// WriteAll writes every generated file into dir.
func WriteAll(dir string) error {
	files, err := Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating icon dir: %w", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return fmt.Errorf("writing icon: %w", err)
		}
	}
	return nil
}

// Sheet is a contact sheet for looking at the tray icons: one row per state,
// each of sizes (all if empty) enlarged zoom times with nearest neighbour, light-panel icons on a
// light background, then dark-panel icons on a dark one, with
// the unread badge if badge is set.
func Sheet(zoom int, badge bool, sizes []int) (*image.NRGBA, error) {
	if len(sizes) == 0 {
		sizes = Sizes
	}
	const pad = 8
	colW := 0
	maxSize := 0
	for _, s := range sizes {
		colW += s*zoom + pad
		maxSize = max(maxSize, s)
	}
	blocks := []struct {
		variant string
		bg      color.NRGBA
		badge   bool
	}{
		{"light", color.NRGBA{0xf6, 0xf5, 0xf4, 0xff}, false},
		{"dark", color.NRGBA{0x24, 0x24, 0x24, 0xff}, false},
	}
	if badge {
		blocks[0].badge, blocks[1].badge = true, true
	}
	rowH := maxSize*zoom + pad
	sheet := image.NewNRGBA(image.Rect(0, 0, len(blocks)*(colW+pad), len(States)*rowH+pad))
	for bi, bl := range blocks {
		x0 := bi * (colW + pad)
		draw.Draw(sheet, image.Rect(x0, 0, x0+colW+pad, sheet.Bounds().Dy()), image.NewUniform(bl.bg), image.Point{}, draw.Src)
		for si, st := range States {
			x := x0 + pad
			for _, sz := range sizes {
				img, err := DrawTray(st, bl.variant, sz)
				if err != nil {
					return nil, err
				}
				if bl.badge {
					AddBadge(img)
				}
				y := pad + si*rowH
				for py := 0; py < sz*zoom; py++ {
					for px := 0; px < sz*zoom; px++ {
						src := img.NRGBAAt(px/zoom, py/zoom)
						dst := sheet.NRGBAAt(x+px, y+py)
						a := uint32(src.A)
						mix := func(s, d uint8) uint8 { return uint8((uint32(s)*a + uint32(d)*(255-a) + 127) / 255) }
						sheet.SetNRGBA(x+px, y+py, color.NRGBA{mix(src.R, dst.R), mix(src.G, dst.G), mix(src.B, dst.B), 0xff})
					}
				}
				x += sz*zoom + pad
			}
		}
	}
	return sheet, nil
}
