//go:build !windows && !linux && !freebsd && !openbsd && !netbsd

package colorscheme

import (
	"context"
	"log/slog"
)

// watch on other systems (macOS) knows nothing: its menu bar tints
// template icons itself.
func watch(_ context.Context, _ *slog.Logger, send func(Scheme)) { send(NoPreference) }
