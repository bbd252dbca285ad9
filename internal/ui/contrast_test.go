package ui

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/state"
)

// variantTheme pins a theme to one variant, as the desktop's light or
// dark setting would.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// screen is one window in one state, for tests that look at every window.
type screen struct {
	name  string
	build func(testing.TB, fyne.App) fyne.Window
}

// screens are the windows in the states that show the most kinds of text:
// errors, notices, secondary (low-importance) lines, placeholders, links.
func screens() []screen {
	wizardView := func(v enroll.View, snap state.Snapshot) func(testing.TB, fyne.App) fyne.Window {
		return func(_ testing.TB, a fyne.App) fyne.Window {
			w := NewWizardWindow(a, &recordingClient{})
			w.async = inline
			w.Apply(snap)
			w.ApplyView(v)
			return w.Window
		}
	}
	signIn := view(enroll.StepSignIn, 2, "enroll.sign_in.title", "enroll.sign_in.body")
	signIn.Fields = []enroll.Field{enroll.FieldUser, enroll.FieldActivationCode}
	signIn.CanBack = true
	signIn.Error = &state.Message{Key: portal.KeyActivationUsed}
	auth := view(enroll.StepAuthenticator, 3, "enroll.authenticator.title", "enroll.authenticator.body")
	auth.CanBack, auth.CanRestart = true, true
	auth.Notice = &state.Message{Key: "enroll.authenticator.hidden"}
	auth.Authenticator = &enroll.Authenticator{Hidden: true, Issuer: "Stadt Musterstadt", Account: "anna.schmidt", Apps: enroll.Apps}
	confirm := view(enroll.StepConfirm, 4, "enroll.confirm.title", "enroll.confirm.body")
	confirm.Fields = []enroll.Field{enroll.FieldCode}
	checks := view(enroll.StepTest, 5, "enroll.test.title", "enroll.test.body")
	checks.Checks = []enroll.Check{{Name: "enroll.test.portal", OK: true}, {Name: "enroll.test.device"}}

	return []screen{
		{"code_refused", func(_ testing.TB, a fyne.App) fyne.Window {
			w := NewCodeWindow(a, &recordingClient{})
			w.showError(L("code.format")) // an error and the empty field's placeholder
			return w.Window
		}},
		{"status_not_connected", func(_ testing.TB, a fyne.App) fyne.Window {
			w := NewStatusWindow(a, &recordingClient{})
			w.Apply(state.Snapshot{Organisation: "Stadt Musterstadt", Version: "1.2.3", Session: state.NotConnected, Since: since, Demo: true, SafeMode: true})
			w.AgentLost()
			w.errLabel.SetText(L("code.format"))
			w.errLabel.Show()
			return w.Window
		}},
		{"status_connected", func(_ testing.TB, a fyne.App) fyne.Window {
			w := NewStatusWindow(a, &recordingClient{})
			h := connectedHealth()
			h.Links = append(h.Links, state.Link{Code: "captive_portal",
				Detail: state.Message{Key: "health.detail.captive", Args: map[string]string{"URL": "http://login.hotel.test/"}}})
			w.Apply(state.Snapshot{Organisation: "Stadt Musterstadt", Version: "1.2.3", Session: state.Connected, Since: since, TrayVisible: true,
				Health: h, Update: state.Update{State: "ready", Available: "0.2.0"}})
			return w.Window
		}},
		{"support", func(_ testing.TB, a fyne.App) fyne.Window {
			w := NewSupportWindow(a, &recordingClient{})
			w.Apply(supportSnapshot())
			w.showStatus(L("support.copied"))
			return w.Window
		}},
		{"announcements", func(tb testing.TB, a fyne.App) fyne.Window {
			announceTranslations(tb)
			w := NewAnnouncementsWindow(a, &announceClient{items: sampleItems()})
			w.async = inline
			w.Apply(state.Snapshot{Language: "de", Announce: state.Announcements{Unread: 2, UnreadUrgent: true}})
			w.list.Select(1) // English only: shows the language note too
			return w.Window
		}},
		{"wizard_sign_in", wizardView(signIn, state.Snapshot{DemoLogin: &state.DemoLogin{User: "anna.schmidt", ActivationCode: "K7P2-QX9M"}})},
		{"wizard_authenticator", wizardView(auth, state.Snapshot{})},
		{"wizard_confirm", wizardView(confirm, state.Snapshot{})},
		{"wizard_test", wizardView(checks, state.Snapshot{})},
	}
}

// TestTextContrast renders every window in the light and the dark theme
// and measures, from the picture, each text against its background:
// WCAG 2.1 AA wants 4.5:1, and 3:1 for large text (24 px, or 18.66 px
// bold). Text of a disabled control is exempt, as WCAG says.
func TestTextContrast(t *testing.T) {
	healthTranslations(t)
	for _, variant := range []struct {
		name string
		v    fyne.ThemeVariant
	}{{"light", theme.VariantLight}, {"dark", theme.VariantDark}} {
		for _, s := range screens() {
			t.Run(variant.name+"/"+s.name, func(t *testing.T) {
				a := test.NewTempApp(t)
				a.Settings().SetTheme(variantTheme{newTheme(), variant.v})
				w := s.build(t, a)
				showAll(t, w)
				w.Canvas().Unfocus() // no cursor over the text
				const scale = 1      // 16 px text has whole pixels in its stems
				w.Canvas().(test.WindowlessCanvas).SetScale(scale)
				img := toNRGBA(w.Canvas().Capture())
				if dir := os.Getenv("DIENSTWEG_CONTRAST_DIR"); dir != "" {
					writePNG(t, filepath.Join(dir, variant.name+"-"+s.name+".png"), img)
				}

				texts := visibleTexts(w.Canvas().Content())
				if len(texts) < 3 {
					t.Fatalf("found %d texts; the walk is broken", len(texts))
				}
				worst := math.Inf(1)
				for _, pt := range texts {
					r := pt.pixels(scale).Intersect(img.Bounds())
					if r.Empty() {
						continue
					}
					fg, bg, ratio := measureText(img, r)
					worst = math.Min(worst, ratio)
					need := 4.5
					if large(pt.text) {
						need = 3
					}
					if ratio < need {
						t.Errorf("%q: contrast %.2f:1 (text %s on %s), want at least %.1f:1",
							pt.text.Text, ratio, hexColor(fg), hexColor(bg), need)
					}
				}
				t.Logf("%d texts, lowest contrast %.2f:1", len(texts), worst)
			})
		}
	}
}

// showAll makes w as wide as its content, as a real window is, and tall
// enough that no scroll container hides anything, so all text is drawn.
func showAll(tb testing.TB, w fyne.Window) {
	tb.Helper()
	pad := 2 * theme.Padding()
	w.Resize(fyne.NewSize(max(w.Canvas().Size().Width, w.Content().MinSize().Width+pad), w.Canvas().Size().Height))
	for range 10 {
		var hidden float32
		var visit func(fyne.CanvasObject)
		visit = func(o fyne.CanvasObject) {
			if o == nil || !o.Visible() {
				return
			}
			if s, ok := o.(*container.Scroll); ok && s.Content != nil {
				hidden = max(hidden, s.Content.MinSize().Height-s.Size().Height)
			}
			for _, c := range children(o) {
				visit(c)
			}
		}
		visit(w.Content())
		if hidden < 1 {
			return
		}
		// Wrapped labels learn their height from a layout; a real window
		// lays out again on the next frame.
		w.Resize(w.Canvas().Size().AddWidthHeight(0, hidden))
	}
	tb.Fatal("showAll: the window still scrolls after growing ten times")
}

// large is WCAG's large text: 18 pt, or 14 pt bold; 1 pt = 4/3 px.
func large(t *canvas.Text) bool {
	return t.TextSize >= 24 || t.TextStyle.Bold && t.TextSize >= 18.66
}

type placedText struct {
	text     *canvas.Text
	pos      fyne.Position
	min, max fyne.Position // clip of the scroll containers around it
}

// pixels is the middle band of the text's line that is on screen, in
// pixels: the glyphs cross it, and a neighbour that a line's spacing
// overlaps (a button under the last line of a label) stays out of it.
func (p placedText) pixels(scale float32) image.Rectangle {
	h := p.text.Size().Height
	x0 := max(p.pos.X, p.min.X)
	y0 := max(p.pos.Y+0.25*h, p.min.Y)
	x1 := min(p.pos.X+p.text.Size().Width, p.max.X)
	y1 := min(p.pos.Y+0.7*h, p.max.Y)
	px := func(v float32) int { return int(math.Round(float64(v * scale))) }
	return image.Rect(px(x0), px(y0), px(x1), px(y1))
}

// visibleTexts lists the non-empty texts drawn, except those of disabled
// controls, with their position on the canvas.
func visibleTexts(root fyne.CanvasObject) []placedText {
	var out []placedText
	var walk func(o fyne.CanvasObject, origin, lo, hi fyne.Position)
	walk = func(o fyne.CanvasObject, origin, lo, hi fyne.Position) {
		if o == nil || !o.Visible() {
			return
		}
		if d, ok := o.(fyne.Disableable); ok && d.Disabled() {
			return
		}
		pos := origin.Add(o.Position())
		if _, ok := o.(*container.Scroll); ok {
			lo = fyne.NewPos(max(lo.X, pos.X), max(lo.Y, pos.Y))
			hi = fyne.NewPos(min(hi.X, pos.X+o.Size().Width), min(hi.Y, pos.Y+o.Size().Height))
		}
		if t, ok := o.(*canvas.Text); ok && strings.TrimSpace(t.Text) != "" {
			out = append(out, placedText{text: t, pos: pos, min: lo, max: hi})
		}
		for _, c := range children(o) {
			walk(c, pos, lo, hi)
		}
	}
	inf := float32(math.MaxFloat32)
	walk(root, fyne.Position{}, fyne.NewPos(-inf, -inf), fyne.NewPos(inf, inf))
	return out
}

// measureText finds a text's colours in r: the background is the most
// common colour, the text the one that differs most from it (anti-aliased
// edges only ever lie between the two).
func measureText(img *image.NRGBA, r image.Rectangle) (fg, bg color.NRGBA, ratio float64) {
	counts := map[color.NRGBA]int{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			counts[img.NRGBAAt(x, y)]++
		}
	}
	n := 0
	for c, k := range counts {
		if k > n {
			bg, n = c, k
		}
	}
	ratio = 1
	for c := range counts {
		if cr := contrast(c, bg); cr > ratio {
			fg, ratio = c, cr
		}
	}
	return fg, bg, ratio
}

// contrast is WCAG 2.1's contrast ratio of two opaque colours.
func contrast(a, b color.NRGBA) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c color.NRGBA) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok {
		return n
	}
	out := image.NewNRGBA(img.Bounds())
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	return out
}

func hexColor(c color.NRGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// The measurement itself: known pairs give WCAG's published ratios.
func TestContrastFormula(t *testing.T) {
	for _, tc := range []struct {
		a, b color.NRGBA
		want float64
	}{
		{color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}, 21},
		{color.NRGBA{0x76, 0x76, 0x76, 255}, color.NRGBA{255, 255, 255, 255}, 4.54},
		{color.NRGBA{0x77, 0x77, 0x77, 255}, color.NRGBA{255, 255, 255, 255}, 4.48},
	} {
		if got := contrast(tc.a, tc.b); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("contrast(%s, %s) = %.3f, want %.2f", hexColor(tc.a), hexColor(tc.b), got, tc.want)
		}
	}
}

// writePNG keeps what the test measured, for a person to look at.
func writePNG(tb testing.TB, path string, img image.Image) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatalf("writePNG: %v", err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		tb.Fatalf("writePNG: %v", err)
	}
}
