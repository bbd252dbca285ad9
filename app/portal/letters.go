package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
	"github.com/dienstweg/dienstweg/internal/org/letters"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/profile"
)

// printLetters issues a new activation code for each chosen user and
// prints their letters into one PDF. Every code that was issued is on a
// page: when the store fails half-way, the letters issued so far are still
// written and the error names where it stopped.
func printLetters(args []string, out io.Writer) error {
	fs, _ := flags("letters")
	outPath := fs.String("out", "", "PDF file to write (required); it holds activation codes, so it is made readable only by you")
	profilePath := fs.String("profile", profile.DefaultPath(), "the organisation profile IT installs on the laptops (organisation name, IT service contact)")
	lang := fs.String("lang", "de", "language of the letters: de or en")
	valid := fs.Duration("valid", portalsrv.DefaultActivationTTL, "how long the activation codes are valid")
	notEnrolled := fs.Bool("not-enrolled", false, "every user who has not set up a computer yet")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *outPath == "":
		return errors.New("letters needs --out FILE.pdf")
	case *notEnrolled == (len(pos) > 0):
		return errors.New("letters needs either user NAMEs or --not-enrolled")
	}
	prof, err := profile.Load(*profilePath)
	if err != nil {
		return fmt.Errorf("reading the organisation profile (--profile): %w", err)
	}
	from := letters.Sender{Organisation: prof.Organisation, Phone: prof.Helpdesk.Phone, Hours: prof.Helpdesk.Hours, Email: prof.Helpdesk.Email}
	// Fail on an unwritable place before any code is replaced.
	if err := checkWritable(filepath.Dir(*outPath)); err != nil {
		return err
	}

	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	users, err := chooseUsers(ctx, st, pos, *notEnrolled)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		fmt.Fprintln(out, "letters: every user has set up a computer; nothing to print")
		return nil
	}

	now := time.Now()
	ls, issueErr := letters.Issue(ctx, st, users, now, *valid, adminActor(), AuditLetterIssue, func(done int) {
		if done%100 == 0 {
			fmt.Fprintf(out, "letters: %d of %d codes issued\n", done, len(users))
		}
	})
	if len(ls) > 0 {
		err := atomicfile.Write(*outPath, 0o600, func(w io.Writer) error { return letters.Write(w, *lang, from, now, ls) })
		if err != nil {
			return fmt.Errorf("%d new codes were issued, but their letters could not be written, so nobody has them: "+
				"run letters again for the same users: %w", len(ls), err)
		}
		fmt.Fprintf(out, "letters: %d letters in %s (codes valid until %s)\n", len(ls), *outPath, now.Add(*valid).Format("2006-01-02 15:04"))
	}
	return issueErr
}

// AuditLetterIssue is the audit action of one activation code issued
// with its letter.
const AuditLetterIssue = "admin.letter.issue"

// chooseUsers returns the named users (all must exist and be enabled) or
// the enabled users who have not set up a computer.
func chooseUsers(ctx context.Context, st store.Store, names []string, notEnrolled bool) ([]store.User, error) {
	if notEnrolled {
		all, err := st.Users(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing users: %w", err)
		}
		var users []store.User
		for _, u := range all {
			if u.EnrolledAt.IsZero() && !u.Disabled() {
				users = append(users, u)
			}
		}
		return users, nil
	}
	users := make([]store.User, 0, len(names))
	for _, n := range names {
		u, err := st.User(ctx, portalsrv.NormaliseUser(n))
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", n, err)
		}
		if u.Disabled() {
			return nil, fmt.Errorf("user %s is disabled (left the directory on %s); the portal would refuse the code", n, u.DisabledAt.Local().Format("2006-01-02"))
		}
		users = append(users, u)
	}
	return users, nil
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".letters-check-*")
	if err != nil {
		return fmt.Errorf("cannot write letters into %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
