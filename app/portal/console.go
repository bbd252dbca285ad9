package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/dienstweg/dienstweg/internal/org/console"
	"github.com/dienstweg/dienstweg/internal/org/letters"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/profile"
)

// consoleIn is where console-user add reads the password; tests replace it.
var consoleIn io.Reader = os.Stdin

// consoleUserAdd adds an IT or helpdesk account of the web console and
// prints its authenticator setup once.
func consoleUserAdd(args []string, out io.Writer) error {
	fs, _ := flags("console-user add")
	role := fs.String("role", "", "it or helpdesk (required)")
	issuer := fs.String("issuer", "Dienstweg", "organisation name shown in the authenticator app")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("console-user add needs exactly one NAME")
	}
	fmt.Fprintf(out, "password for %s (at least %d characters, read from standard input): ", pos[0], console.MinPasswordLength)
	line, err := bufio.NewReader(consoleIn).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return fmt.Errorf("reading the password: %w", err)
	}
	fmt.Fprintln(out)
	a, uri, err := console.NewAccount(pos[0], *role, strings.TrimRight(line, "\r\n"), *issuer, time.Now())
	if err != nil {
		return err
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := console.AddAccount(context.Background(), st, a, adminActor()); err != nil {
		return err
	}
	fmt.Fprintf(out, "console account %s (%s) added.\n\nSet up the authenticator app with this QR code or URI (shown only now):\n", a.Name, a.Role)
	if q, err := qrcode.New(uri, qrcode.Medium); err == nil {
		fmt.Fprint(out, q.ToSmallString(false))
	}
	fmt.Fprintf(out, "%s\n\nSign in at https://PORTAL/console/\n", uri)
	return nil
}

// mountConsole serves the web console on the portal. The letters' sender
// comes from the organisation profile if it is installed on this host.
func mountConsole(srv *portalsrv.Server, st store.Store, profilePath, issuer string) error {
	from := letters.Sender{Organisation: issuer}
	if p, err := profile.Load(profilePath); err == nil {
		from = letters.Sender{Organisation: p.Organisation, Phone: p.Helpdesk.Phone, Hours: p.Helpdesk.Hours, Email: p.Helpdesk.Email}
	}
	c, err := console.New(console.Config{Store: st, Portal: srv, Reports: console.PortalReports(srv, st), Sender: from, ActivationTTL: portalsrv.DefaultActivationTTL})
	if err != nil {
		return err
	}
	srv.Mount(console.Prefix, c)
	return nil
}
