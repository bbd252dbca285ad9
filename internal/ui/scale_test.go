package ui

import (
	"os"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

func TestXftScale(t *testing.T) {
	for _, tc := range []struct {
		name, resources string
		want            float64
		ok              bool
	}{
		{"gnome_125", "Xft.antialias:\t1\nXft.dpi:\t120\nXft.hinting:\t1\n", 1.25, true},
		{"plain_100", "Xft.dpi: 96", 1, true},
		{"kde_150", "Xcursor.size: 36\nXft.dpi: 144\n", 1.5, true},
		{"none", "Xcursor.theme: Adwaita\n", 0, false},
		{"empty", "", 0, false},
		{"other_name", "Xft.dpiX: 120\n", 0, false},
		{"not_a_number", "Xft.dpi: high\n", 0, false},
		{"absurd", "Xft.dpi: 2000\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := xftScale(tc.resources)
			if got != tc.want || ok != tc.ok {
				t.Errorf("xftScale(%q) = %v, %v; want %v, %v", tc.resources, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// The person's own FYNE_SCALE is never overridden by the desktop's.
func TestFollowXftDPIKeepsFyneScale(t *testing.T) {
	t.Setenv("FYNE_SCALE", "2")
	t.Setenv("FYNE_DISABLE_DPI_DETECTION", "")
	followXftDPI()
	if got := os.Getenv("FYNE_SCALE"); got != "2" {
		t.Errorf("FYNE_SCALE = %q, want the person's 2", got)
	}
	if got := os.Getenv("FYNE_DISABLE_DPI_DETECTION"); got != "" {
		t.Errorf("FYNE_DISABLE_DPI_DETECTION = %q with FYNE_SCALE set", got)
	}
}

// A laptop with 1366×768 at 125 %, minus a panel (48 px) and a title bar
// (40 px), leaves 1366×680 pixels for a window's content: every window
// must fit there, both the size it opens at and the least it can be made.
func TestWindowsFitSmallScreenAt125(t *testing.T) {
	const scale = 1.25
	screen := fyne.NewSize(1366, 680)
	for _, s := range screens() {
		t.Run(s.name, func(t *testing.T) {
			a := test.NewTempApp(t)
			a.Settings().SetTheme(newTheme())
			w := s.build(t, a)
			w.Canvas().(test.WindowlessCanvas).SetScale(scale)
			pad := 2 * theme.Padding()
			minSize := w.Content().MinSize().AddWidthHeight(pad, pad)
			for what, size := range map[string]fyne.Size{"least size": minSize, "opening size": w.Canvas().Size()} {
				px := fyne.NewSize(size.Width*scale, size.Height*scale)
				if px.Width > screen.Width || px.Height > screen.Height {
					t.Errorf("%s %.0f×%.0f px at 125 %%, more than the %.0f×%.0f px free", what, px.Width, px.Height, screen.Width, screen.Height)
				}
			}
			t.Logf("least %.0f×%.0f px, opens at %.0f×%.0f px", minSize.Width*scale, minSize.Height*scale,
				w.Canvas().Size().Width*scale, w.Canvas().Size().Height*scale)
		})
	}
}
