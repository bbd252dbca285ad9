package update

import "github.com/dienstweg/dienstweg/internal/session"

// SetEventHook makes Run call f after each session event it has acted on.
// Set it before Run starts.
func SetEventHook(u *Updater, f func(session.Event)) { u.eventHandled = f }
