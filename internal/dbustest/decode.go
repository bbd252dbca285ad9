package dbustest

import (
	"errors"
	"fmt"
	"image"
	"image/color"

	"github.com/godbus/dbus/v5"
)

// pixmap is one entry of an SNI a(iiay): width, height and ARGB32 pixels in
// network byte order, row by row.
type pixmap struct {
	W, H int32
	Pix  []byte
}

// toolTip is the SNI ToolTip struct (sa(iiay)ss).
type toolTip struct {
	IconName string
	Pixmaps  []pixmap
	Title    string
	Text     string
}

func decodeToolTip(v dbus.Variant) (toolTip, error) {
	var tt toolTip
	if err := v.Store(&tt); err != nil {
		return toolTip{}, fmt.Errorf("decoding %s as (sa(iiay)ss): %w", v.Signature(), err)
	}
	return tt, nil
}

// decodeIconPixmap returns the largest image of an a(iiay) value. An item
// without an icon sends no pixmaps or (fyne.io/systray) one of size 0x0.
func decodeIconPixmap(v dbus.Variant) (image.Image, error) {
	var pms []pixmap
	if err := v.Store(&pms); err != nil {
		return nil, fmt.Errorf("decoding %s as a(iiay): %w", v.Signature(), err)
	}
	return largestPixmap(pms)
}

func largestPixmap(pms []pixmap) (image.Image, error) {
	best := -1
	for i, p := range pms {
		if p.W > 0 && p.H > 0 && (best < 0 || int64(p.W)*int64(p.H) > int64(pms[best].W)*int64(pms[best].H)) {
			best = i
		}
	}
	if best < 0 {
		return nil, errors.New("no icon pixmap")
	}
	return decodeARGB32(pms[best])
}

// decodeARGB32 converts network-byte-order ARGB32 (A, R, G, B per pixel, not
// premultiplied per the SNI spec) into an NRGBA image.
func decodeARGB32(p pixmap) (image.Image, error) {
	if p.W <= 0 || p.H <= 0 || p.W > 1<<14 || p.H > 1<<14 {
		return nil, fmt.Errorf("pixmap size %dx%d out of range", p.W, p.H)
	}
	w, h := int(p.W), int(p.H)
	if len(p.Pix) != w*h*4 {
		return nil, fmt.Errorf("pixmap %dx%d has %d bytes, want %d", w, h, len(p.Pix), w*h*4)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		a, r, g, b := p.Pix[4*i], p.Pix[4*i+1], p.Pix[4*i+2], p.Pix[4*i+3]
		img.SetNRGBA(i%w, i/w, color.NRGBA{R: r, G: g, B: b, A: a})
	}
	return img, nil
}

// StripMnemonic removes dbusmenu access-key markers from a label: "_x" shows
// as "x" and "__" as a literal "_".
func StripMnemonic(label string) string {
	out := make([]rune, 0, len(label))
	rs := []rune(label)
	for i := 0; i < len(rs); i++ {
		if rs[i] == '_' && i+1 < len(rs) {
			i++
		}
		out = append(out, rs[i])
	}
	return string(out)
}
