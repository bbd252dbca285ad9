//go:build linux || freebsd || openbsd || netbsd

package systray

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

// An anti-aliased edge pixel must reach the panel with its own colour and
// alpha. The old conversion sent the low bytes of 16-bit premultiplied
// values: for this pixel A=0x80 R=0xF6 G=0xF5 B=0xF4 it sent 0x80 0xF6 0x75
// 0xF4, a magenta fringe.
func TestArgbForImage_straight_alpha_in_network_order(t *testing.T) {
	edge := color.NRGBA{R: 0xf6, G: 0xf5, B: 0xf4, A: 0x80}
	opaque := color.NRGBA{R: 0x2e, G: 0x34, B: 0x36, A: 0xff}
	nrgba := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	nrgba.SetNRGBA(0, 0, edge)
	nrgba.SetNRGBA(1, 0, opaque)
	want := []byte{0x80, 0xf6, 0xf5, 0xf4, 0xff, 0x2e, 0x34, 0x36, 0, 0, 0, 0}
	if got := argbForImage(nrgba); !bytes.Equal(got, want) {
		t.Errorf("NRGBA source: argbForImage = % x, want % x", got, want)
	}

	// A premultiplied source (PNG decodes some images to RGBA) is
	// un-premultiplied; rounding may move a channel by one step.
	rgba := image.NewRGBA(image.Rect(5, 5, 6, 6)) // bounds not at the origin
	rgba.Set(5, 5, edge)
	got := argbForImage(rgba)
	if len(got) != 4 || got[0] != edge.A {
		t.Fatalf("RGBA source: argbForImage = % x, want alpha %#x first", got, edge.A)
	}
	for i, w := range []byte{edge.R, edge.G, edge.B} {
		if d := int(got[i+1]) - int(w); d < -2 || d > 2 {
			t.Errorf("RGBA source: channel %d = %#x, want %#x ± 2", i, got[i+1], w)
		}
	}
}
