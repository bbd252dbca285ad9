package ui

import (
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// activityStep is how often the activity indicator moves. Fyne redraws
// the whole window for any change: its infinite progress bar, at 60
// frames a second, cost the waiting wizard 30 % of a core under software
// rendering (bench/wizard-cpu.sh). Two steps a second say "working" as
// well for under one point.
const activityStep = 500 * time.Millisecond

// activity is a small "Bitte warten …" with three dots that light up in
// turn while running. Hidden and without a timer while not running.
type activity struct {
	row  *fyne.Container
	dots [3]*canvas.Circle
	lit  int
	stop chan struct{}
}

func newActivity(text string) *activity {
	a := &activity{}
	objs := []fyne.CanvasObject{}
	for i := range a.dots {
		c := canvas.NewCircle(color.Transparent)
		size := theme.Size(theme.SizeNameText) * 0.6
		holder := container.NewGridWrap(fyne.NewSize(size, size), c)
		a.dots[i] = c
		objs = append(objs, holder)
	}
	objs = append(objs, widget.NewLabel(text))
	a.row = container.NewHBox(objs...)
	a.row.Hide()
	a.paint()
	return a
}

// CanvasObject is what the window lays out.
func (a *activity) CanvasObject() fyne.CanvasObject { return a.row }

// SetRunning shows and moves the indicator, or stops and hides it. Call
// it on the UI thread.
func (a *activity) SetRunning(on bool) {
	if on == (a.stop != nil) {
		return
	}
	if !on {
		close(a.stop)
		a.stop = nil
		a.row.Hide()
		return
	}
	a.stop = make(chan struct{})
	a.row.Show()
	go activityTicks(a.stop, a.advance)
}

// Running reports whether the indicator moves.
func (a *activity) Running() bool { return a.stop != nil }

// activityTicks calls step on the UI thread every activityStep until
// stop is closed. Tests replace it: Fyne's test driver runs fyne.Do on
// the calling goroutine, not on a UI thread of its own.
var activityTicks = func(stop <-chan struct{}, step func(stop <-chan struct{})) {
	t := time.NewTicker(activityStep)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fyne.Do(func() { step(stop) })
		}
	}
}

// advance lights the next dot, unless stopped meanwhile: then the UI
// thread has moved on.
func (a *activity) advance(stop <-chan struct{}) {
	select {
	case <-stop:
		return
	default:
	}
	a.lit = (a.lit + 1) % len(a.dots)
	a.paint()
}

func (a *activity) paint() {
	on, off := theme.Color(theme.ColorNamePrimary), theme.Color(theme.ColorNameDisabled)
	for i, d := range a.dots {
		d.FillColor = off
		if i == a.lit {
			d.FillColor = on
		}
		d.Refresh()
	}
}
