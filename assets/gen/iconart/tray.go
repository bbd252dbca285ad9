package iconart

import (
	"fmt"
	"image"
	"math"
)

// States are the session states of PRODUCT.md, in its order.
var States = []string{
	"not_connected", "connecting", "connected", "limited", "no_internet", "code_needed", "problem",
}

// Sizes are the tray sizes drawn natively: 16 (GNOME, Windows), 22 and 24
// (KDE, Xfce), 32 and 48 (HiDPI).
var Sizes = []int{16, 22, 24, 32, 48}

// Variants name the panel an icon is for: "light" panels get a dark glyph,
// "dark" panels a light one.
var Variants = []string{"light", "dark"}

// TrayName is the file name of one tray icon.
func TrayName(state, variant string, size int) string {
	return fmt.Sprintf("tray-%s-%s-%d.png", state, variant, size)
}

// Colours from the GNOME palette. Emblem colours are the same on both panels;
// they are dark enough for a white glyph and bright enough on a dark panel.
var (
	fgOnLight = hex(0x2e3436)
	fgOnDark  = hex(0xf6f5f4)
	green     = hex(0x26a269)
	blue      = hex(0x1c71d8)
	amber     = hex(0xf5c211)
	red       = hex(0xe01b24)
	white     = hex(0xffffff)
	ink       = hex(0x1e1e1e) // glyph on amber, where white would be too faint
)

// layout holds pixel positions for one size, chosen by hand so that vertical
// and horizontal edges fall on the pixel grid.
type layout struct {
	size         int
	sw           float64 // stroke width
	apexY        float64 // roof top
	eaveL, eaveR float64 // roof ends
	wallL, wallR float64
	floor        float64
	gap          float64 // clear space between the house and an emblem
	k            float64 // emblem box edge; the box sits in the bottom-right corner
}

var layouts = map[int]layout{
	16: {size: 16, sw: 2, apexY: 1, eaveL: 0, eaveR: 16, wallL: 2, wallR: 14, floor: 15, gap: 1, k: 10},
	22: {size: 22, sw: 2, apexY: 2, eaveL: 1, eaveR: 21, wallL: 3, wallR: 19, floor: 20, gap: 1, k: 12},
	24: {size: 24, sw: 2, apexY: 2, eaveL: 1, eaveR: 23, wallL: 4, wallR: 20, floor: 22, gap: 1, k: 14},
	32: {size: 32, sw: 3, apexY: 2, eaveL: 1, eaveR: 31, wallL: 4, wallR: 28, floor: 30, gap: 1.5, k: 19},
	48: {size: 48, sw: 4, apexY: 3, eaveL: 2, eaveR: 46, wallL: 6, wallR: 42, floor: 45, gap: 2, k: 28},
}

// roofSlope is rise over run of the roof; a little under 45° reads as a house
// rather than an arrow at 16 px.
const roofSlope = 0.9

func (l layout) cx() float64    { return (l.eaveL + l.eaveR) / 2 }
func (l layout) eaveY() float64 { return l.apexY + roofSlope*(l.cx()-l.eaveL) }

// solidHouse is the house silhouette: roof with overhanging eaves on a body.
func (l layout) solidHouse() sdf {
	roof := polygon(pt{l.eaveL, l.eaveY()}, pt{l.cx(), l.apexY}, pt{l.eaveR, l.eaveY()})
	body := box(l.wallL, l.eaveY()-1, l.wallR, l.floor)
	return union(roof, body)
}

// outlineHouse is the silhouette with its inside removed, leaving a stroke of
// width sw along roof, walls and floor.
func (l layout) outlineHouse() sdf {
	cx, ey := l.cx(), l.eaveY()
	inner := intersect(
		grow(halfplane(pt{l.eaveL, ey}, pt{cx, l.apexY}, pt{cx, ey}), -l.sw),
		grow(halfplane(pt{cx, l.apexY}, pt{l.eaveR, ey}, pt{cx, ey}), -l.sw),
		box(l.wallL+l.sw, -1, l.wallR-l.sw, l.floor-l.sw),
	)
	return subtract(l.solidHouse(), inner)
}

// halfplane is the side of the line through a and b that holds in.
func halfplane(a, b, in pt) sdf {
	nx, ny := b.y-a.y, a.x-b.x
	n := math.Sqrt(nx*nx + ny*ny)
	nx, ny = nx/n, ny/n
	if (in.x-a.x)*nx+(in.y-a.y)*ny > 0 {
		nx, ny = -nx, -ny
	}
	return func(x, y float64) float64 { return (x-a.x)*nx + (y-a.y)*ny }
}

// layer is one painted shape.
type layer struct {
	shape sdf
	paint paint
}

// emblem is the state glyph: cut is cleared from the house (grown by the
// gap), then the layers are painted in order.
type emblem struct {
	cut    sdf
	layers []layer
}

// emblemBox returns the centre and half edge of the emblem box.
func (l layout) emblemBox() (c, r float64) {
	s := float64(l.size)
	return s - l.k/2, l.k / 2
}

// disc is a coloured disc emblem with glyph painted on it.
func disc(l layout, col rgba, glyph sdf, glyphCol rgba) emblem {
	c, r := l.emblemBox()
	d := circle(c, c, r)
	return emblem{cut: d, layers: []layer{{d, solid(col)}, {glyph, solid(glyphCol)}}}
}

// exclamation is a "!" centred on x = c, with its stem from top to bottom and
// its dot below.
func exclamation(l layout, c, top, bottom, dotTop float64) sdf {
	w := l.sw
	rr := w * 0.2
	stem := roundBox(c-w/2, top, c+w/2, bottom, rr)
	dot := roundBox(c-w/2, dotTop, c+w/2, dotTop+w, rr)
	return union(stem, dot)
}

func stateEmblem(state string, l layout, fg rgba) (emblem, bool) {
	c, r := l.emblemBox()
	s := float64(l.size)
	switch state {
	case "not_connected":
		return emblem{}, false
	case "connecting":
		// An ellipsis, as in "Verbindung wird aufgebaut …".
		dr := math.Max(1, 0.2*r)
		step := math.Round(0.6 * r)
		dots := union(circle(c-step, c, dr), circle(c, c, dr), circle(c+step, c, dr))
		return disc(l, blue, dots, white), true
	case "connected":
		w := l.sw
		check := stroke(w, pt{c - 0.5*r, c + 0.02*r}, pt{c - 0.14*r, c + 0.38*r}, pt{c + 0.5*r, c - 0.3*r})
		return disc(l, green, check, white), true
	case "limited":
		top := math.Round(c - 0.6*r)
		bottom := math.Round(c + 0.16*r)
		return disc(l, amber, exclamation(l, c, top, bottom, bottom+math.Max(1, math.Round(0.2*r))), ink), true
	case "code_needed":
		// A keypad: a rounded square (not a disc) with three by three keys.
		x0 := s - l.k
		pad := roundBox(x0, x0, s, s, 0.22*l.k)
		d := math.Max(l.sw, math.Floor(0.16*l.k))
		g := math.Max(1, math.Round(0.12*l.k))
		m := math.Floor((l.k - 3*d - 2*g) / 2)
		var keys []sdf
		for row := 0.0; row < 3; row++ {
			for col := 0.0; col < 3; col++ {
				kx, ky := x0+m+col*(d+g), x0+m+row*(d+g)
				keys = append(keys, roundBox(kx, ky, kx+d, ky+d, 0.3*d))
			}
		}
		return emblem{cut: pad, layers: []layer{{pad, solid(blue)}, {union(keys...), solid(white)}}}, true
	case "problem":
		// A warning triangle with rounded corners; its shape alone says
		// "problem", whatever the colour.
		e := l.gap / 2
		top := s - l.k - 2*e
		tri := roundTriangle(pt{c, top}, pt{s - l.k - 2*e, s}, pt{s + 2*e, s}, 0.1*l.k)
		st := math.Round(top + 0.4*l.k)
		sb := math.Round(top + 0.7*l.k)
		glyph := exclamation(l, c, st, sb, sb+math.Max(1, math.Round(0.08*l.k)))
		return emblem{cut: tri, layers: []layer{{tri, solid(red)}, {glyph, solid(white)}}}, true
	case "no_internet":
		// A slash across the whole house, as on other "off" icons.
		m := l.sw/2 + 0.5
		sl := stroke(l.sw, pt{m, m}, pt{s - m, s - m})
		return emblem{cut: sl, layers: []layer{{sl, solid(fg)}}}, true
	}
	panic("iconart: unknown state " + state)
}

// roundTriangle is the triangle a, b, c with corners rounded by radius rho.
// It shrinks the triangle towards its incentre and grows it back, so the
// result keeps the original edges.
func roundTriangle(a, b, c pt, rho float64) sdf {
	la := dist(b.x-c.x, b.y-c.y)
	lb := dist(a.x-c.x, a.y-c.y)
	lc := dist(a.x-b.x, a.y-b.y)
	p := la + lb + lc
	ix := (la*a.x + lb*b.x + lc*c.x) / p
	iy := (la*a.y + lb*b.y + lc*c.y) / p
	area := math.Abs((b.x-a.x)*(c.y-a.y)-(c.x-a.x)*(b.y-a.y)) / 2
	inr := 2 * area / p
	f := 1 - rho/inr
	sh := func(v pt) pt { return pt{ix + (v.x-ix)*f, iy + (v.y-iy)*f} }
	return grow(polygon(sh(a), sh(b), sh(c)), rho)
}

// filled reports whether the house is drawn solid: the tunnel is up.
func filled(state string) bool { return state == "connected" || state == "limited" }

// DrawTray draws one tray icon.
func DrawTray(state, variant string, size int) (*image.NRGBA, error) {
	l, ok := layouts[size]
	if !ok {
		return nil, fmt.Errorf("no tray layout for %d px", size)
	}
	fg := fgOnLight
	switch variant {
	case "light":
	case "dark":
		fg = fgOnDark
	default:
		return nil, fmt.Errorf("unknown panel variant %q", variant)
	}
	known := false
	for _, s := range States {
		known = known || s == state
	}
	if !known {
		return nil, fmt.Errorf("unknown state %q", state)
	}

	house := l.outlineHouse()
	if filled(state) {
		house = l.solidHouse()
	}
	em, has := stateEmblem(state, l, fg)
	if has {
		house = subtract(house, grow(em.cut, l.gap))
	}
	cv := newCanvas(size, size)
	cv.fill(house, solid(fg))
	for _, ly := range em.layers {
		cv.fill(ly.shape, ly.paint)
	}
	return cv.image(), nil
}

// AddBadge draws the unread dot in the top-right corner of img, in place: a
// red dot in a white ring, so that it shows on light and dark panels. Pixels
// outside the ring are not touched.
func AddBadge(img *image.NRGBA) {
	b := img.Bounds()
	s := float64(min(b.Dx(), b.Dy()))
	outer := s * 0.2
	ring := math.Max(1, math.Round(s/16))
	cx, cy := float64(b.Dx())-outer, outer
	blendInto(img, circle(cx, cy, outer), white)
	blendInto(img, circle(cx, cy, outer-ring), red)
}
