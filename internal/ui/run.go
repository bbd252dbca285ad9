package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// liveWindow is a window that follows the agent's state.
type liveWindow interface {
	Apply(state.Snapshot)
	AgentLost()
}

// Build creates the window called name in a. It is exported for tests and
// screenshots; Run is the ui role's entry point.
func Build(a fyne.App, c Client, name string) (fyne.Window, liveWindow, error) {
	switch name {
	case localapi.WindowStatus:
		w := NewStatusWindow(a, c)
		return w.Window, w, nil
	case localapi.WindowCode:
		w := NewCodeWindow(a, c)
		return w.Window, w, nil
	case localapi.WindowWizard:
		w := NewWizardWindow(a, c)
		return w.Window, w, nil
	case localapi.WindowAnnouncements:
		w := NewAnnouncementsWindow(a, c)
		return w.Window, w, nil
	case localapi.WindowSupport:
		w := NewSupportWindow(a, c)
		return w.Window, w, nil
	case localapi.WindowQuit:
		w := NewQuitWindow(a, c)
		return w.Window, w, nil
	}
	return nil, nil, fmt.Errorf("unknown window %q", name)
}

// Run is the ui role: it shows one window until it is closed. If that
// window is already open in another process, that one comes to the front
// and Run returns nil at once.
func Run(window string, c *localapi.Client, lang string, log *slog.Logger) error {
	if !localapi.ValidWindow(window) {
		return fmt.Errorf("unknown window %q (want one of %v)", window, localapi.Windows())
	}
	if err := SetLanguage(lang); err != nil {
		return fmt.Errorf("loading translations: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Claim the window before creating any GL context, so a second click
	// costs nothing.
	events, err := c.Watch(ctx, window)
	var apiErr *localapi.Error
	if errors.As(err, &apiErr) && apiErr.Code == "window_open" {
		log.Info("window already open; raised it", "window", window)
		return nil
	}
	if err != nil {
		return fmt.Errorf("connecting to the agent: %w", err)
	}

	followXftDPI()
	a := app.NewWithID(AppID)
	a.Settings().SetTheme(newTheme())
	a.SetIcon(fyne.NewStaticResource("dienstweg.png", assets.AppIcon()))
	w, live, err := Build(a, c, window)
	if err != nil {
		return err
	}
	w.SetMaster()
	// Centred, where a person looks first. A window manager may place it
	// itself; without one (a bare X server, make run's private Xvfb) every
	// window stacked at 0,0, and there is no title bar to move it by.
	w.CenterOnScreen()
	// Windows with a stream of their own (the wizard) start it here.
	if s, ok := live.(interface{ Start(context.Context) }); ok {
		s.Start(ctx)
	}
	// The stream reconnects with backoff when the agent restarts.
	go localapi.Follower[localapi.Event]{
		Open:   func(ctx context.Context) (<-chan localapi.Event, error) { return c.Watch(ctx, window) },
		Handle: func(ev localapi.Event) bool { return applyEvent(ev, w, live) },
		Lost:   func() { fyne.Do(live.AgentLost) },
		Logger: log,
	}.Follow(ctx, events)
	w.ShowAndRun()
	return nil
}

// applyEvent applies one event of the stream to the window; false after
// the agent closed it.
func applyEvent(ev localapi.Event, w fyne.Window, live liveWindow) bool {
	switch ev.Type {
	case localapi.EventState:
		if ev.State != nil {
			snap := *ev.State
			fyne.Do(func() { live.Apply(snap) })
		}
	case localapi.EventRaise:
		fyne.Do(func() { w.Show(); w.RequestFocus() })
	case localapi.EventClose:
		fyne.Do(func() { w.Close() })
		return false
	}
	return true
}
