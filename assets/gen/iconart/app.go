package iconart

import (
	"fmt"
	"image"
	"strings"
)

// The app icon is described once as a list of simple shapes, from which both
// the SVG and the PNGs are made, so the two cannot drift apart.

const appDesign = 512 // design units; the SVG viewBox

// AppSizes are the PNG sizes of the app icon.
var AppSizes = []int{512, 256}

type appShape struct {
	rect  *[5]float64 // x, y, w, h, rx
	poly  []pt
	fill  string // "bg" for the background gradient, else a hex colour
	alpha float64
}

var (
	bgTop    = hex(0x62a0ea)
	bgBottom = hex(0x1a5fb4)
)

const bgY0, bgY1 = 32.0, 480.0

func appShapes() []appShape {
	// House proportions follow the tray icons (same roof slope).
	const (
		eaveL, eaveR = 100.0, 412.0
		apexY        = 92.0
		wallL, wallR = 140.0, 372.0
		floor        = 392.0
		doorL, doorR = 224.0, 288.0
		doorTop      = 300.0
	)
	cx := (eaveL + eaveR) / 2
	eaveY := apexY + roofSlope*(cx-eaveL)
	return []appShape{
		{rect: &[5]float64{32, bgY0, 448, bgY1 - bgY0, 96}, fill: "bg", alpha: 1},
		// The way (Weg) from the door out of the picture.
		{poly: []pt{{doorL, floor}, {doorR, floor}, {344, bgY1}, {168, bgY1}}, fill: "#ffffff", alpha: 0.4},
		{poly: []pt{
			{eaveL, eaveY}, {cx, apexY}, {eaveR, eaveY}, {wallR, eaveY},
			{wallR, floor}, {wallL, floor}, {wallL, eaveY},
		}, fill: "#ffffff", alpha: 1},
		// The open door shows the background through.
		{rect: &[5]float64{doorL, doorTop, doorR - doorL, floor - doorTop, 0}, fill: "bg", alpha: 1},
		// A round window in the gable.
		{rect: &[5]float64{cx - 24, 176, 48, 48, 24}, fill: "bg", alpha: 1},
	}
}

// DrawApp draws the app icon at size px.
func DrawApp(size int) *image.NRGBA {
	k := float64(size) / appDesign
	cv := newCanvas(size, size)
	for _, s := range appShapes() {
		var d sdf
		if s.rect != nil {
			r := s.rect
			d = roundBox(r[0], r[1], r[0]+r[2], r[1]+r[3], r[4])
		} else {
			d = polygon(s.poly...)
		}
		scaled := func(x, y float64) float64 { return d(x/k, y/k) * k }
		var p paint
		if s.fill == "bg" {
			g := vgradient(bgY0, bgY1, bgTop, bgBottom)
			p = func(x, y float64) rgba { return g(x/k, y/k) }
		} else {
			var v uint32
			fmt.Sscanf(s.fill, "#%06x", &v)
			c := hex(v)
			c.a = s.alpha
			p = solid(c)
		}
		cv.fill(scaled, p)
	}
	return cv.image()
}

// AppSVG is the app icon as SVG.
func AppSVG() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", appDesign, appDesign, appDesign, appDesign)
	fmt.Fprintf(&b, `<defs><linearGradient id="bg" gradientUnits="userSpaceOnUse" x1="0" y1="%s" x2="0" y2="%s">`+
		`<stop offset="0" stop-color="%s"/><stop offset="1" stop-color="%s"/></linearGradient></defs>`+"\n",
		num(bgY0), num(bgY1), cssHex(bgTop), cssHex(bgBottom))
	for _, s := range appShapes() {
		fill := s.fill
		if fill == "bg" {
			fill = "url(#bg)"
		}
		op := ""
		if s.alpha != 1 {
			op = fmt.Sprintf(` fill-opacity="%s"`, num(s.alpha))
		}
		if s.rect != nil {
			r := s.rect
			rx := ""
			if r[4] != 0 {
				rx = fmt.Sprintf(` rx="%s"`, num(r[4]))
			}
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s"%s fill="%s"%s/>`+"\n",
				num(r[0]), num(r[1]), num(r[2]), num(r[3]), rx, fill, op)
			continue
		}
		var d strings.Builder
		for i, p := range s.poly {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s", cmd, num(p.x), num(p.y))
		}
		fmt.Fprintf(&b, `<path d="%sZ" fill="%s"%s/>`+"\n", d.String(), fill, op)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func num(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func cssHex(c rgba) string {
	return fmt.Sprintf("#%02x%02x%02x", to8(c.r), to8(c.g), to8(c.b))
}
