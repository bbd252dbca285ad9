package ui

import (
	"math"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/state"
)

// HealthChain shows the health chain: a ✓ or ✗ per link (theme icons,
// since the font may lack the characters), the latency and a 15-minute
// sparkline per office service, and when the chain last changed. Apply
// must run on the UI thread (fyne.Do from a watcher goroutine).
type HealthChain struct {
	widget.BaseWidget

	// OnOpenLogin, if set, offers a button to open a captive portal's
	// login page instead of retrying the tunnel.
	OnOpenLogin func(url string)
	// Location formats the time of the last change; nil is time.Local.
	Location *time.Location
	// keys are the window's Escape and Enter; nil leaves Fyne's own.
	keys *windowKeys

	title   *widget.Label
	rows    *fyne.Container
	changed *widget.Label
	content *fyne.Container
}

// NewHealthChain returns an empty chain ("not checked yet").
func NewHealthChain() *HealthChain {
	h := &HealthChain{}
	h.title = widget.NewLabelWithStyle(L("health.chain.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	// A form layout lines the details up after the widest link name.
	h.rows = container.New(layout.NewFormLayout())
	h.changed = widget.NewLabel(L("health.chain.never"))
	h.changed.Importance = widget.LowImportance
	h.content = container.NewVBox(h.title, h.rows, h.changed)
	h.ExtendBaseWidget(h)
	return h
}

// CreateRenderer implements fyne.Widget.
func (h *HealthChain) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(h.content)
}

// HealthRow is what one row shows; a pure function of a link, tested
// without a window.
type HealthRow struct {
	Name    string
	OK      bool
	Skipped bool
	Detail  string
	Latency string
	// Login is a captive portal's login page, if the row offers it.
	Login string
}

// HealthRowFor renders one link.
func HealthRowFor(l state.Link) HealthRow {
	r := HealthRow{Name: L("health.link." + l.Code), OK: l.OK && !l.Skipped, Skipped: l.Skipped, Detail: ML(&l.Detail)}
	if l.Target != "" {
		r.Name = l.Target
	}
	if l.Code == "office_services" && r.OK && l.Latency > 0 {
		r.Latency = L("health.chain.latency", map[string]string{"Milliseconds": formatMS(l.Latency)})
		if l.Detail.Key == "health.detail.latency" {
			r.Detail = "" // the latency column says it
		}
	}
	if l.Code == "captive_portal" && !l.OK && !l.Skipped {
		r.Login = l.Detail.Args["URL"]
	}
	return r
}

// formatMS rounds to whole milliseconds; below one it says "<1".
func formatMS(v float64) string {
	if v < 1 {
		return "<1"
	}
	return strconv.Itoa(int(math.Round(v)))
}

// Apply shows h. Call it on the UI thread.
func (h *HealthChain) Apply(hs state.Health) {
	loc := h.Location
	if loc == nil {
		loc = time.Local
	}
	objs := make([]fyne.CanvasObject, 0, 2*len(hs.Links))
	for _, l := range hs.Links {
		name, rest := h.row(HealthRowFor(l), l.History, hs.CheckedAt)
		objs = append(objs, name, rest)
	}
	h.rows.Objects = objs
	switch {
	case !hs.ChangedAt.IsZero():
		h.changed.SetText(L("health.chain.changed", map[string]string{"Time": hs.ChangedAt.In(loc).Format("15:04")}))
	case len(hs.Links) == 0:
		h.changed.SetText(L("health.chain.never"))
	default:
		h.changed.SetText("")
	}
	h.rows.Refresh()
	h.Refresh()
}

// row returns the two cells of a link: icon and name, then the detail
// with latency, sparkline and login button on the right.
func (h *HealthChain) row(r HealthRow, hist []state.Sample, end time.Time) (fyne.CanvasObject, fyne.CanvasObject) {
	var icon fyne.Resource
	switch {
	case r.Skipped:
		icon = theme.NewDisabledResource(theme.MoreHorizontalIcon())
	case r.OK:
		icon = theme.NewSuccessThemedResource(theme.ConfirmIcon())
	default:
		icon = theme.NewErrorThemedResource(theme.ErrorIcon())
	}
	name := widget.NewLabel(r.Name)
	if !r.OK && !r.Skipped {
		name.TextStyle.Bold = true
	}
	detail := widget.NewLabel(r.Detail)
	if r.OK || r.Skipped {
		// A failing link's detail stays at full contrast: it is the part
		// the employee reads out to the helpdesk.
		detail.Importance = widget.LowImportance
	}
	detail.Truncation = fyne.TextTruncateEllipsis
	left := container.NewHBox(widget.NewIcon(icon), name)
	var right []fyne.CanvasObject
	if r.Latency != "" {
		right = append(right, widget.NewLabel(r.Latency))
	}
	if len(hist) > 0 {
		right = append(right, newSparkline(hist, end))
	}
	if r.Login != "" && h.OnOpenLogin != nil {
		url := r.Login
		open := func() { h.OnOpenLogin(url) }
		if h.keys != nil {
			right = append(right, h.keys.newButton(L("health.chain.open_login"), theme.ComputerIcon(), open))
		} else {
			right = append(right, widget.NewButtonWithIcon(L("health.chain.open_login"), theme.ComputerIcon(), open))
		}
	}
	return left, container.NewBorder(nil, nil, nil, container.NewHBox(right...), detail)
}

// sparkline draws latency samples of the last 15 minutes as lines, with a
// red tick for each failed probe.
type sparkline struct {
	widget.BaseWidget
	samples []state.Sample
	end     time.Time
}

// sparkWindow matches health.HistoryWindow; not imported, to keep the ui
// free of the agent's packages.
const sparkWindow = 15 * time.Minute

var sparkSize = fyne.NewSize(90, 24)

func newSparkline(samples []state.Sample, end time.Time) *sparkline {
	s := &sparkline{samples: samples, end: end}
	s.ExtendBaseWidget(s)
	return s
}

func (s *sparkline) CreateRenderer() fyne.WidgetRenderer {
	segs, fails := sparkPoints(s.samples, s.end, sparkSize)
	r := &sparkRenderer{s: s, base: canvas.NewLine(theme.Color(theme.ColorNameSeparator))}
	r.objects = append(r.objects, r.base)
	for range segs {
		l := canvas.NewLine(theme.Color(theme.ColorNamePrimary))
		l.StrokeWidth = 1.5
		r.lines = append(r.lines, l)
		r.objects = append(r.objects, l)
	}
	for range fails {
		l := canvas.NewLine(theme.Color(theme.ColorNameError))
		l.StrokeWidth = 1.5
		r.ticks = append(r.ticks, l)
		r.objects = append(r.objects, l)
	}
	r.Layout(sparkSize)
	return r
}

// sparkRenderer keeps one line per segment and tick; the samples of a
// sparkline never change (Apply builds a new one), only its size.
type sparkRenderer struct {
	s       *sparkline
	base    *canvas.Line
	lines   []*canvas.Line
	ticks   []*canvas.Line
	objects []fyne.CanvasObject
}

func (r *sparkRenderer) Layout(size fyne.Size) {
	segs, fails := sparkPoints(r.s.samples, r.s.end, size)
	r.base.Position1, r.base.Position2 = fyne.NewPos(0, size.Height), fyne.NewPos(size.Width, size.Height)
	for i, l := range r.lines {
		l.Position1, l.Position2 = segs[i][0], segs[i][1]
	}
	for i, l := range r.ticks {
		l.Position1, l.Position2 = fyne.NewPos(fails[i], size.Height/2), fyne.NewPos(fails[i], size.Height)
	}
}

// sparkPoints maps samples to line segments between consecutive good
// samples and x positions of failed ones, in a box of size; time runs
// left to right over the 15 minutes before end, latency bottom to top.
func sparkPoints(samples []state.Sample, end time.Time, size fyne.Size) (segs [][2]fyne.Position, fails []float32) {
	maxLat := 0.0
	for _, s := range samples {
		if s.OK && s.Latency > maxLat {
			maxLat = s.Latency
		}
	}
	if maxLat <= 0 {
		maxLat = 1
	}
	pos := func(s state.Sample) (fyne.Position, bool) {
		age := end.Sub(s.At)
		if age < 0 || age > sparkWindow {
			return fyne.Position{}, false
		}
		x := size.Width * float32(1-float64(age)/float64(sparkWindow))
		y := size.Height - size.Height*float32(s.Latency/maxLat)*0.9
		return fyne.NewPos(x, y), true
	}
	var prev *fyne.Position
	for _, s := range samples {
		p, ok := pos(s)
		if !ok {
			continue
		}
		if !s.OK {
			fails = append(fails, p.X)
			prev = nil
			continue
		}
		if prev != nil {
			segs = append(segs, [2]fyne.Position{*prev, p})
		} else {
			segs = append(segs, [2]fyne.Position{p, p})
		}
		prev = &p
	}
	return segs, fails
}

func (r *sparkRenderer) MinSize() fyne.Size { return sparkSize }

func (r *sparkRenderer) Refresh() {
	r.Layout(r.s.Size())
	r.base.StrokeColor = theme.Color(theme.ColorNameSeparator)
	for _, l := range r.lines {
		l.StrokeColor = theme.Color(theme.ColorNamePrimary)
	}
	for _, l := range r.ticks {
		l.StrokeColor = theme.Color(theme.ColorNameError)
	}
	for _, o := range r.objects {
		o.Refresh()
	}
}

func (r *sparkRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *sparkRenderer) Destroy() {}
