package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
	"github.com/dienstweg/dienstweg/internal/org/demo"
)

// runDemo runs the demo organisation "Stadt Musterstadt" on loopback —
// portal, gateway and the intranet behind it — until ctx ends. Once all of
// it answers, it writes the profile a client needs to DIR/profile.json,
// demo sign-in included, and removes it again when it stops: the file
// exists exactly while a demo runs, which is what scripts/run.sh waits for.
func runDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := fs.String("dir", "", "data `directory`, kept across runs, and where profile.json goes (default "+demoDirHelp+")")
	listen := fs.String("listen", "127.0.0.1:0", "portal address, loopback only (port 0: any free port)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := defaultDemoDir()
		if err != nil {
			return err
		}
		*dir = d
	}
	profilePath := filepath.Join(*dir, "profile.json")
	// One left by a demo that was killed points at a portal that is gone.
	if err := os.Remove(profilePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the old demo profile: %w", err)
	}
	o, err := demo.StartAt(ctx, *dir, *listen)
	if err != nil {
		return fmt.Errorf("starting the demo organisation: %w", err)
	}
	p, err := o.Profile()
	if err == nil {
		err = atomicfile.Write(profilePath, 0o644, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(p)
		})
	}
	if err != nil {
		return errors.Join(fmt.Errorf("writing the demo profile: %w", err), o.Close())
	}
	fmt.Fprintf(out, "Stadt Musterstadt demo organisation: portal on %s, data in %s\n\n", o.PortalURL, *dir)
	fmt.Fprintf(out, "Profile for the client (Ctrl-C stops the demo):\n  dienstweg --profile %s\n\nDemo users:\n", profilePath)
	for _, u := range o.Users {
		fmt.Fprintf(out, "  %-14s %-16s activation code %s\n", u.Name, u.DisplayName, u.ActivationCode)
	}
	err = o.Wait()
	if rmErr := os.Remove(profilePath); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, fmt.Errorf("removing the demo profile: %w", rmErr))
	}
	return err
}

const demoDirHelp = "$XDG_DATA_HOME/dienstweg/demo-portal"

// defaultDemoDir keeps the demo's data with the user's data, where the
// client's in-process demo used to keep it, so a device set up in an
// earlier demo stays set up.
func defaultDemoDir() (string, error) {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the demo directory: %w", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "dienstweg", "demo-portal"), nil
}
