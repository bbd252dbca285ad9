package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dienstweg/dienstweg/internal/profile"
)

// loadProfile finds the organisation profile: an explicit file, the
// installed one, or — with --demo or when none is installed — the
// embedded demo organisation, whose portal starts in this process.
func loadProfile(ctx context.Context, path string, demo bool, log *slog.Logger) (*profile.Profile, bool, func(), error) {
	noop := func() {}
	if path != "" && !demo {
		p, err := profile.Load(path)
		return p, false, noop, err
	}
	if !demo {
		p, err := profile.Load(profile.DefaultPath())
		if err == nil {
			return p, false, noop, nil
		}
		if !errors.Is(err, profile.ErrNotInstalled) {
			return nil, false, noop, err
		}
		log.Info("no organisation profile installed; starting the demo organisation", "path", profile.DefaultPath())
	}
	p, closeDemo, err := startDemo(ctx, log)
	if err != nil {
		return nil, true, noop, fmt.Errorf("starting the demo organisation: %w", err)
	}
	return p, true, closeDemo, nil
}

// demoDir keeps the demo portal's data across runs, beside the logs.
func demoDir() (string, error) {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "dienstweg", "demo-portal"), nil
}
