// Package colorscheme reads whether the desktop prefers a light or a dark
// look, and follows changes: on Linux from the freedesktop settings portal,
// on Windows from the registry. The tray uses it to pick icons that show
// on the panel.
package colorscheme

import (
	"context"
	"log/slog"
)

// Scheme is the desktop's preference.
type Scheme int

const (
	// NoPreference: the desktop states none, or it cannot be read.
	NoPreference Scheme = iota
	Dark
	Light
)

func (s Scheme) String() string {
	switch s {
	case Dark:
		return "dark"
	case Light:
		return "light"
	}
	return "no_preference"
}

// Watch sends the current scheme at once, then every change, until ctx
// ends; then it closes the channel. A reader that lags gets the latest
// scheme, never a stale one (the channel holds one value). Problems are
// logged and read as NoPreference: the caller always gets an answer.
func Watch(ctx context.Context, log *slog.Logger) <-chan Scheme {
	if log == nil {
		log = slog.Default()
	}
	out := make(chan Scheme, 1)
	go func() {
		defer close(out)
		watch(ctx, log.With("component", "colorscheme"), func(s Scheme) { offer(out, s) })
	}()
	return out
}

// offer replaces an unread value, so the newest always gets through.
func offer(ch chan Scheme, s Scheme) {
	for {
		select {
		case ch <- s:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
