package ui

import (
	"context"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/desktop"
	"github.com/dienstweg/dienstweg/internal/localapi"
)

// DesktopClient opens office desktops (issue 20) through the agent.
type DesktopClient interface {
	OpenDesktop(ctx context.Context, name string) (localapi.DesktopOpened, error)
}

// desktopRow is the status window's "Arbeitsplatz öffnen": one button
// per desktop the verdict offers, and a line saying which program opens
// it. It is rebuilt only when the offered desktops change, so the focus
// stays on a button while the state moves on.
type desktopRow struct {
	box   *fyne.Container
	btns  *fyne.Container
	note  *widget.Label
	names []string
}

func newDesktopRow() *desktopRow {
	r := &desktopRow{btns: container.NewHBox(), note: wrapped("")}
	r.note.Importance = widget.LowImportance
	r.note.Hide()
	r.box = container.NewVBox(r.btns, r.note)
	r.box.Hide()
	return r
}

// applyDesktops shows a button for each desktop in names.
func (w *StatusWindow) applyDesktops(names []string) {
	r := w.desktops
	if !slices.Equal(names, r.names) {
		r.names = slices.Clone(names)
		var objs []fyne.CanvasObject
		for i, l := range desktop.ButtonLabels(names) {
			name := names[i]
			b := w.keys.newButton(ML(&l), theme.ComputerIcon(), func() { w.openDesktop(name) })
			b.Importance = widget.HighImportance
			objs = append(objs, b)
		}
		r.btns.Objects = objs
		r.btns.Refresh()
		if len(names) == 0 {
			r.note.Hide()
		}
	}
	setVisible(r.box, len(names) > 0)
}

func (w *StatusWindow) openDesktop(name string) {
	w.errLabel.Hide()
	w.desktops.note.Hide()
	w.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		opened, err := w.client.OpenDesktop(ctx, name)
		fyne.Do(func() {
			if err != nil {
				w.errLabel.SetText(errorText(err))
				w.errLabel.Show()
				return
			}
			w.desktops.note.SetText(ML(&opened.Message))
			w.desktops.note.Show()
		})
	})
}
