package assets

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dienstweg/dienstweg/assets/gen/iconart"
)

func decodePNG(tb testing.TB, b []byte) *image.NRGBA {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("png.Decode: %v", err)
	}
	return toNRGBA(img)
}

func TestTrayStates_product_order(t *testing.T) {
	t.Parallel()
	want := []string{"not_connected", "connecting", "connected", "limited", "no_internet", "code_needed", "problem"}
	if got := TrayStates(); !slices.Equal(got, want) {
		t.Fatalf("TrayStates() = %v, want %v", got, want)
	}
	TrayStates()[0] = "changed"
	if TrayStates()[0] != want[0] {
		t.Fatal("TrayStates returns shared storage")
	}
}

func TestTrayIcon_every_state_panel_size(t *testing.T) {
	t.Parallel()
	for _, state := range TrayStates() {
		for _, panel := range []Panel{PanelLight, PanelDark} {
			for _, size := range []int{16, 22, 24, 32, 48} {
				t.Run(fmt.Sprintf("%s_%d_%d", state, panel, size), func(t *testing.T) {
					t.Parallel()
					b, err := TrayIcon(state, panel, size)
					if err != nil {
						t.Fatalf("TrayIcon: %v", err)
					}
					img := decodePNG(t, b)
					if got := img.Bounds().Size(); got != image.Pt(size, size) {
						t.Fatalf("size = %v, want %dx%d", got, size, size)
					}
					opaque := 0
					for y := 0; y < size; y++ {
						for x := 0; x < size; x++ {
							if img.NRGBAAt(x, y).A > 200 {
								opaque++
							}
						}
					}
					// A glyph with 2 px strokes covers well over a tenth of the icon.
					if opaque < size*size/10 {
						t.Errorf("only %d of %d pixels opaque: icon is nearly blank", opaque, size*size)
					}
					// Bottom-left and top-right stay clear in every state, so
					// the panel shows through and the unread dot has room.
					for _, p := range []image.Point{{0, size - 1}, {size - 1, 0}} {
						if a := img.NRGBAAt(p.X, p.Y).A; a != 0 {
							t.Errorf("corner %v alpha = %d, want transparent", p, a)
						}
					}
				})
			}
		}
	}
}

func TestTrayIcon_rejects_unknown_input(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state string
		panel Panel
		size  int
	}{
		{"unknown_state", "sleeping", PanelLight, 22},
		{"empty_state", "", PanelLight, 22},
		{"unknown_size", "connected", PanelLight, 20},
		{"unknown_panel", "connected", Panel(7), 22},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if b, err := TrayIcon(tt.state, tt.panel, tt.size); err == nil {
				t.Fatalf("TrayIcon(%q, %d, %d) = %d bytes, want error", tt.state, tt.panel, tt.size, len(b))
			}
		})
	}
}

// grey is the luma of an icon laid over a plain background: what someone who
// cannot tell the colours apart still sees.
func grey(img *image.NRGBA, bg float64) []float64 {
	b := img.Bounds()
	out := make([]float64, 0, b.Dx()*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			p := img.NRGBAAt(x, y)
			l := (0.299*float64(p.R) + 0.587*float64(p.G) + 0.114*float64(p.B)) / 255
			a := float64(p.A) / 255
			out = append(out, l*a+bg*(1-a))
		}
	}
	return out
}

func TestTrayIcon_states_differ_without_colour(t *testing.T) {
	t.Parallel()
	const size = 22
	// At least this many of the 484 pixels must differ clearly in brightness
	// between any two states.
	const minPixels = 20
	for _, tc := range []struct {
		name  string
		panel Panel
		bg    float64
	}{
		{"light_panel", PanelLight, 0.96},
		{"dark_panel", PanelDark, 0.14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			states := TrayStates()
			masks := map[string][]float64{}
			for _, s := range states {
				b, err := TrayIcon(s, tc.panel, size)
				if err != nil {
					t.Fatalf("TrayIcon: %v", err)
				}
				masks[s] = grey(decodePNG(t, b), tc.bg)
			}
			least, pair := size*size, ""
			for i, a := range states {
				for _, b := range states[i+1:] {
					n := 0
					for k := range masks[a] {
						if d := masks[a][k] - masks[b][k]; d > 0.25 || d < -0.25 {
							n++
						}
					}
					if n < minPixels {
						t.Errorf("%s and %s differ in only %d pixels, want >= %d", a, b, n, minPixels)
					}
					if n < least {
						least, pair = n, a+"/"+b
					}
				}
			}
			t.Logf("closest pair %s: %d pixels differ", pair, least)
		})
	}
}

func TestIcons_match_generator(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := iconart.WriteAll(dir); err != nil {
		t.Fatalf("WriteAll: %v", err)
	}
	fresh, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	committed, err := os.ReadDir("icons")
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	names := func(es []os.DirEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	if a, b := names(fresh), names(committed); !slices.Equal(a, b) {
		t.Fatalf("assets/icons holds %v, generator writes %v; run `go run ./assets/gen`", b, a)
	}
	for _, e := range fresh {
		want, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatalf("ReadFile: %v", err)
		}
		got, err := os.ReadFile(filepath.Join("icons", e.Name()))
		if err != nil {
			t.Fatalf("ReadFile: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("icons/%s differs from the generator's output; run `go run ./assets/gen`, do not edit icons by hand", e.Name())
		}
		embedded, err := icons.ReadFile("icons/" + e.Name())
		if err != nil || !bytes.Equal(embedded, want) {
			t.Errorf("embedded icons/%s differs from the generator's output (err %v)", e.Name(), err)
		}
	}
}

func TestWithBadge_marks_top_right_only(t *testing.T) {
	t.Parallel()
	for _, size := range TraySizes() {
		for _, panel := range []Panel{PanelLight, PanelDark} {
			t.Run(fmt.Sprintf("size_%d_panel_%d", size, panel), func(t *testing.T) {
				t.Parallel()
				plain, err := TrayIcon("connected", panel, size)
				if err != nil {
					t.Fatalf("TrayIcon: %v", err)
				}
				badged, err := WithBadge(plain)
				if err != nil {
					t.Fatalf("WithBadge: %v", err)
				}
				before, after := decodePNG(t, plain), decodePNG(t, badged)
				if after.Bounds() != before.Bounds() {
					t.Fatalf("bounds %v, want %v", after.Bounds(), before.Bounds())
				}
				// The dot's centre is opaque and red.
				c := size - size/5 - 1
				if p := after.NRGBAAt(c, size/5); p.A != 255 || p.R < 200 || p.G > 80 {
					t.Errorf("pixel at dot centre = %v, want opaque red", p)
				}
				changed := 0
				for y := 0; y < size/2; y++ {
					for x := size / 2; x < size; x++ {
						if after.NRGBAAt(x, y) != before.NRGBAAt(x, y) {
							changed++
						}
					}
				}
				if changed < size*size/25 {
					t.Errorf("only %d top-right pixels changed", changed)
				}
				for y := size / 2; y < size; y++ {
					for x := 0; x < size/2; x++ {
						if a, b := after.NRGBAAt(x, y), before.NRGBAAt(x, y); a != b {
							t.Fatalf("bottom-left pixel (%d,%d) changed from %v to %v", x, y, b, a)
						}
					}
				}
			})
		}
	}
}

func TestWithBadge_rejects_non_png(t *testing.T) {
	t.Parallel()
	if _, err := WithBadge([]byte("GIF89a")); err == nil {
		t.Fatal("WithBadge(not a PNG) succeeded, want error")
	}
}

func TestAppIcon(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data []byte
		size int
	}{
		{"png_512", AppIcon(), 512},
		{"png_256", AppIcon256(), 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := decodePNG(t, tc.data)
			if got := img.Bounds().Size(); got != image.Pt(tc.size, tc.size) {
				t.Fatalf("size = %v, want %d", got, tc.size)
			}
			// Rounded corners are transparent, the middle is opaque.
			if a := img.NRGBAAt(0, 0).A; a != 0 {
				t.Errorf("corner alpha = %d, want 0", a)
			}
			if a := img.NRGBAAt(tc.size/2, tc.size/2).A; a != 255 {
				t.Errorf("centre alpha = %d, want 255", a)
			}
		})
	}
	t.Run("svg", func(t *testing.T) {
		var doc struct {
			XMLName xml.Name
			ViewBox string `xml:"viewBox,attr"`
		}
		if err := xml.Unmarshal(AppIconSVG(), &doc); err != nil {
			t.Fatalf("xml.Unmarshal: %v", err)
		}
		if doc.XMLName.Local != "svg" || doc.ViewBox != "0 0 512 512" {
			t.Fatalf("root = %s viewBox %q, want svg 0 0 512 512", doc.XMLName.Local, doc.ViewBox)
		}
	})
}

func TestParsePanel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    Panel
		wantErr bool
	}{
		{"auto", PanelAuto, false},
		{"", PanelAuto, false},
		{"light", PanelLight, false},
		{"dark", PanelDark, false},
		{"Dark", PanelAuto, true},
	} {
		got, err := ParsePanel(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParsePanel(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if _, err := TrayIcon("connected", PanelAuto, 22); err == nil {
		t.Error("TrayIcon(PanelAuto) gave an icon; the caller must resolve auto first")
	}
}

// luminance is WCAG 2.1's relative luminance of an sRGB colour.
func luminance(r, g, b uint8) float64 {
	lin := func(c uint8) float64 {
		v := float64(c) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

func contrast(l1, l2 float64) float64 {
	return (max(l1, l2) + 0.05) / (min(l1, l2) + 0.05)
}

// Each variant's house (its most common opaque grey) stands out from
// the panel it is made for by at least WCAG's 3:1 for graphics, on the
// darkest and lightest panels in use, and the two variants differ: the
// light-panel glyph on a dark panel would fall below 3:1.
func TestTrayIcon_variants_contrast_with_their_panel(t *testing.T) {
	t.Parallel()
	panels := map[Panel][]color.NRGBA{
		// Ubuntu's top bar, Windows 11's dark taskbar, KDE Breeze Dark.
		PanelDark: {{0, 0, 0, 255}, {0x20, 0x20, 0x20, 255}, {0x31, 0x36, 0x3b, 255}},
		// Windows 11's light taskbar, KDE Breeze, Xfce's default.
		PanelLight: {{0xf3, 0xf3, 0xf3, 255}, {0xef, 0xf0, 0xf1, 255}, {0xff, 0xff, 0xff, 255}},
	}
	glyph := func(t *testing.T, state string, p Panel, size int) color.NRGBA {
		b, err := TrayIcon(state, p, size)
		if err != nil {
			t.Fatalf("TrayIcon: %v", err)
		}
		img := decodePNG(t, b)
		count := map[color.NRGBA]int{}
		var best color.NRGBA
		for i := 0; i+3 < len(img.Pix); i += 4 {
			c := color.NRGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]}
			// The house is grey; the emblems are coloured.
			if c.A != 255 || max(c.R, c.G, c.B)-min(c.R, c.G, c.B) > 12 {
				continue
			}
			count[c]++
			if count[c] > count[best] {
				best = c
			}
		}
		return best
	}
	for _, state := range TrayStates() {
		for _, size := range TraySizes() {
			t.Run(fmt.Sprintf("%s_%d", state, size), func(t *testing.T) {
				t.Parallel()
				for p, bgs := range panels {
					own := glyph(t, state, p, size)
					other := PanelLight
					if p == PanelLight {
						other = PanelDark
					}
					wrong := glyph(t, state, other, size)
					for _, bg := range bgs {
						lb := luminance(bg.R, bg.G, bg.B)
						if c := contrast(luminance(own.R, own.G, own.B), lb); c < 3 {
							t.Errorf("panel %d on %v: glyph %v has contrast %.2f, want >= 3", p, bg, own, c)
						}
						if c := contrast(luminance(wrong.R, wrong.G, wrong.B), lb); c >= 3 {
							t.Errorf("panel %d on %v: the other variant's glyph %v has contrast %.2f too: variants do not differ", p, bg, wrong, c)
						}
					}
				}
			})
		}
	}
}
