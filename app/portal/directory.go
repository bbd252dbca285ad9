package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/directory"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// directorySync reads users and groups from LDAP/Active Directory and
// brings the portal's directory users in line (docs/directory.md).
func directorySync(args []string, out io.Writer) error {
	fs, _ := flags("directory sync")
	cfgPath := fs.String("config", "", "directory config (JSON, see docs/directory.md; required)")
	dry := fs.Bool("dry-run", false, "print what would change and change nothing")
	takeOver := fs.Bool("take-over-manual", false, "also manage users added by hand (user add) with the same names, and disable those missing from the directory")
	limits := disableFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *cfgPath == "" || len(pos) > 0 {
		return errors.New("directory sync needs --config FILE and nothing else")
	}
	cfg, err := directory.LoadLDAPConfig(*cfgPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Read the whole directory before touching the store: a failure
	// half-way changes nothing.
	entries, err := directory.ReadLDAP(ctx, cfg)
	if err != nil {
		return err
	}
	return importEntries(ctx, fs, entries, store.SourceLDAP, *dry, limits.options(*takeOver), out)
}

// directoryImportCSV imports users from a CSV file: user,display
// name,groups (separated by ;).
func directoryImportCSV(args []string, out io.Writer) error {
	fs, _ := flags("directory import-csv")
	dry := fs.Bool("dry-run", false, "print what would change and change nothing")
	takeOver := fs.Bool("take-over-manual", false, "also manage users added by hand (user add) with the same names, and disable those missing from the file")
	limits := disableFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("directory import-csv needs exactly one FILE")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := directory.ReadCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	return importEntries(context.Background(), fs, entries, store.SourceCSV, *dry, limits.options(*takeOver), out)
}

// disableLimitFlags are --max-disable and --confirm-disable; the rule
// itself is directory.DisableLimit's.
type disableLimitFlags struct {
	max     *directory.DisableLimit
	confirm *int
}

func disableFlags(fs *flag.FlagSet) *disableLimitFlags {
	f := &disableLimitFlags{confirm: new(int)}
	fs.Func("max-disable", "refuse to disable more than N users or P% of the active users the import manages (default: 10 or 5%, whichever is more)", func(s string) error {
		l, err := directory.ParseDisableLimit(s)
		f.max = &l
		return err
	})
	fs.IntVar(f.confirm, "confirm-disable", 0, "apply a plan beyond --max-disable if it disables exactly `N` users (the number its refusal named)")
	return f
}

func (f *disableLimitFlags) options(takeOver bool) directory.Options {
	return directory.Options{TakeOverManual: takeOver, MaxDisable: f.max, ConfirmDisable: *f.confirm}
}

// importEntries plans the import of entries, prints the plan and, unless
// dry, applies it with every change in the audit log.
func importEntries(ctx context.Context, fs *flag.FlagSet, entries []directory.Entry, source string, dry bool, opts directory.Options, out io.Writer) error {
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.Users(ctx)
	if err != nil {
		return err
	}
	plan, err := directory.MakePlan(users, entries, source, opts)
	if err != nil {
		return err
	}
	if err := plan.Write(out); err != nil {
		return err
	}
	if dry {
		if err := plan.CheckDisableLimit(); err != nil {
			fmt.Fprintf(out, "a run would be refused: %v\n", err)
		}
		fmt.Fprintln(out, "dry run: nothing was changed")
		return nil
	}
	res, err := directory.Apply(ctx, st, plan, adminActor(), time.Now())
	var tooMany *directory.TooManyDisablesError
	if errors.As(err, &tooMany) {
		return err // nothing was changed; the error says so and what to do
	}
	fmt.Fprintf(out, "done: %d created, %d updated, %d enabled, %d disabled, %d devices revoked\n",
		res.Created, res.Updated, res.Enabled, res.Disabled, res.DevicesRevoked)
	if err != nil {
		return fmt.Errorf("stopped: %w (run again to apply the rest)", err)
	}
	if len(plan.Create) > 0 {
		fmt.Fprintln(out, "new users need an activation letter: dienstweg-portal letters --not-enrolled --out letters.pdf")
	}
	for _, c := range plan.Enable {
		fmt.Fprintf(out, "%s is back and needs a new letter: dienstweg-portal letters %s --out %s.pdf\n", c.User, c.User, c.User)
	}
	return nil
}
