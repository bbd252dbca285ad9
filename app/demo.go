package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/dienstweg/dienstweg/internal/org/demo"
	"github.com/dienstweg/dienstweg/internal/profile"
)

// loadProfile finds the organisation profile: an explicit file, the
// installed one, or — with --demo or when none is installed — the
// embedded demo organisation, whose portal starts in this process.
func loadProfile(ctx context.Context, path string, demo bool, log *slog.Logger) (*profile.Profile, func(), error) {
	noop := func() {}
	if path != "" && !demo {
		p, err := profile.Load(path)
		return p, noop, err
	}
	if !demo {
		p, err := profile.Load(profile.DefaultPath())
		if err == nil {
			return p, noop, nil
		}
		if !errors.Is(err, profile.ErrNotInstalled) {
			return nil, noop, err
		}
		log.Info("no organisation profile installed; starting the demo organisation", "path", profile.DefaultPath())
	}
	p, closeDemo, err := startDemo(ctx, log)
	if err != nil {
		return nil, noop, fmt.Errorf("starting the demo organisation: %w", err)
	}
	return p, closeDemo, nil
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

// startDemo runs the demo organisation's portal in this process, with its
// data kept across runs, and returns the demo profile pointing at it.
func startDemo(ctx context.Context, log *slog.Logger) (*profile.Profile, func(), error) {
	dir, err := demoDir()
	if err != nil {
		return nil, nil, err
	}
	org, err := demo.Start(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	p, err := org.Profile()
	if err != nil {
		org.Close()
		return nil, nil, err
	}
	// Seeding hashed fresh activation codes with argon2id (19 MiB each);
	// hand that memory back instead of idling on it all day.
	debug.FreeOSMemory()
	log.Info("demo organisation started", "portal", org.PortalURL, "users", len(org.Users))
	return p, func() { org.Close() }, nil
}
