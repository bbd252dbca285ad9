package update

import "github.com/dienstweg/dienstweg/internal/state"

// SetSnapshotHook makes Run call f after each snapshot it has acted on.
// Set it before Run starts.
func SetSnapshotHook(u *Updater, f func(state.Snapshot)) { u.snapshotHandled = f }
