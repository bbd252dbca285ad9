package iconart

import (
	"image"
	"image/color"
	"math"
)

// The icons are built from signed distance functions (negative inside) and
// rasterised by supersampling. Distances let one shape be grown by a few
// pixels to cut a clean gap around an emblem, which a plain polygon filler
// cannot do.

type pt struct{ x, y float64 }

// sdf returns the signed distance from (x, y) to a shape's edge, negative
// inside. Every sdf here is at most the true distance, so a pixel whose centre
// is further than a pixel's half diagonal from the edge is fully in or out.
type sdf func(x, y float64) float64

func circle(cx, cy, r float64) sdf {
	return func(x, y float64) float64 {
		return math.Sqrt((x-cx)*(x-cx)+(y-cy)*(y-cy)) - r
	}
}

// box is an axis-aligned rectangle with corners (x0, y0) and (x1, y1).
func box(x0, y0, x1, y1 float64) sdf {
	return roundBox(x0, y0, x1, y1, 0)
}

// roundBox is a rectangle whose corners are rounded with radius r.
func roundBox(x0, y0, x1, y1, r float64) sdf {
	cx, cy := (x0+x1)/2, (y0+y1)/2
	hx, hy := (x1-x0)/2-r, (y1-y0)/2-r
	return func(x, y float64) float64 {
		qx := math.Abs(x-cx) - hx
		qy := math.Abs(y-cy) - hy
		out := math.Sqrt(math.Max(qx, 0)*math.Max(qx, 0) + math.Max(qy, 0)*math.Max(qy, 0))
		return out + math.Min(math.Max(qx, qy), 0) - r
	}
}

// polygon is a closed polygon (any winding, even-odd inside test).
func polygon(p ...pt) sdf {
	return func(x, y float64) float64 {
		d := (x-p[0].x)*(x-p[0].x) + (y-p[0].y)*(y-p[0].y)
		s := 1.0
		for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
			ex, ey := p[j].x-p[i].x, p[j].y-p[i].y
			wx, wy := x-p[i].x, y-p[i].y
			t := clamp((wx*ex+wy*ey)/(ex*ex+ey*ey), 0, 1)
			bx, by := wx-ex*t, wy-ey*t
			d = math.Min(d, bx*bx+by*by)
			c1, c2, c3 := y >= p[i].y, y < p[j].y, ex*wy > ey*wx
			if (c1 && c2 && c3) || (!c1 && !c2 && !c3) {
				s = -s
			}
		}
		return s * math.Sqrt(d)
	}
}

// stroke is a polyline of width w with round caps and joins.
func stroke(w float64, p ...pt) sdf {
	return func(x, y float64) float64 {
		d := math.Inf(1)
		for i := 0; i+1 < len(p); i++ {
			a, b := p[i], p[i+1]
			ex, ey := b.x-a.x, b.y-a.y
			wx, wy := x-a.x, y-a.y
			t := clamp((wx*ex+wy*ey)/(ex*ex+ey*ey), 0, 1)
			bx, by := wx-ex*t, wy-ey*t
			d = math.Min(d, math.Sqrt(bx*bx+by*by))
		}
		return d - w/2
	}
}

func union(s ...sdf) sdf {
	return func(x, y float64) float64 {
		d := math.Inf(1)
		for _, f := range s {
			d = math.Min(d, f(x, y))
		}
		return d
	}
}

func intersect(s ...sdf) sdf {
	return func(x, y float64) float64 {
		d := math.Inf(-1)
		for _, f := range s {
			d = math.Max(d, f(x, y))
		}
		return d
	}
}

// subtract is a with b cut out.
func subtract(a, b sdf) sdf {
	return func(x, y float64) float64 { return math.Max(a(x, y), -b(x, y)) }
}

// grow makes a shape larger by g on every side (rounding outer corners).
func grow(a sdf, g float64) sdf {
	return func(x, y float64) float64 { return a(x, y) - g }
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// Supersampling grid per pixel. The sample positions are shifted by a small
// non-dyadic offset so that no sample lands exactly on an edge drawn on the
// pixel or half-pixel grid: exact ties could round differently on CPUs that
// fuse multiply-adds and make the output differ between machines.
const (
	samples = 16
	jitterX = 0.000318309886
	jitterY = 0.000271828183
)

// coverage is the fraction of pixel (px, py) inside s.
func coverage(s sdf, px, py int) float64 {
	d := s(float64(px)+0.5, float64(py)+0.5)
	if d > 0.75 {
		return 0
	}
	if d < -0.75 {
		return 1
	}
	n := 0
	for j := 0; j < samples; j++ {
		y := float64(py) + (float64(j)+0.5)/samples + jitterY
		for i := 0; i < samples; i++ {
			x := float64(px) + (float64(i)+0.5)/samples + jitterX
			if s(x, y) < 0 {
				n++
			}
		}
	}
	return float64(n) / (samples * samples)
}

// paint gives the straight (not premultiplied) colour at a pixel centre.
type paint func(x, y float64) rgba

type rgba struct{ r, g, b, a float64 }

func hex(v uint32) rgba {
	return rgba{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255, 1}
}

func solid(c rgba) paint { return func(x, y float64) rgba { return c } }

// vgradient runs from colour a at y0 to colour b at y1.
func vgradient(y0, y1 float64, a, b rgba) paint {
	return func(x, y float64) rgba {
		t := clamp((y-y0)/(y1-y0), 0, 1)
		return rgba{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t, a.a + (b.a-a.a)*t}
	}
}

// canvas holds premultiplied float colour so that layers compose without
// rounding until the final conversion.
type canvas struct {
	w, h int
	pix  []rgba
}

func newCanvas(w, h int) *canvas { return &canvas{w: w, h: h, pix: make([]rgba, w*h)} }

// blendInto paints s in colour col over img (source-over), touching only
// pixels that s covers.
func blendInto(img *image.NRGBA, s sdf, col rgba) {
	b := img.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			cov := coverage(s, x, y)
			if cov == 0 {
				continue
			}
			p := img.NRGBAAt(b.Min.X+x, b.Min.Y+y)
			da := float64(p.A) / 255
			sa := col.a * cov
			oa := sa + da*(1-sa)
			mix := func(sc float64, dc uint8) uint8 {
				return to8((sc*sa + float64(dc)/255*da*(1-sa)) / oa)
			}
			img.SetNRGBA(b.Min.X+x, b.Min.Y+y, color.NRGBA{
				R: mix(col.r, p.R), G: mix(col.g, p.G), B: mix(col.b, p.B), A: to8(oa),
			})
		}
	}
}

// fill paints s with p over what is there (source-over).
func (c *canvas) fill(s sdf, p paint) {
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			cov := coverage(s, x, y)
			if cov == 0 {
				continue
			}
			col := p(float64(x)+0.5, float64(y)+0.5)
			a := col.a * cov
			d := &c.pix[y*c.w+x]
			d.r = col.r*a + d.r*(1-a)
			d.g = col.g*a + d.g*(1-a)
			d.b = col.b*a + d.b*(1-a)
			d.a = a + d.a*(1-a)
		}
	}
}

func (c *canvas) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, c.w, c.h))
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			p := c.pix[y*c.w+x]
			if p.a <= 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{
				R: to8(p.r / p.a), G: to8(p.g / p.a), B: to8(p.b / p.a), A: to8(p.a),
			})
		}
	}
	return img
}

func to8(v float64) uint8 { return uint8(math.Round(clamp(v, 0, 1) * 255)) }

// dist is the length of (x, y). math.Hypot is not used because it has an
// assembly version on some CPUs, which could change the last bit.
func dist(x, y float64) float64 { return math.Sqrt(x*x + y*y) }
