// Command fakeagent is a small stand-in for the dienstweg agent in the
// update tests: it serves the local API's /v1/status on a unix socket and
// runs the real updater against the real portal, so a running v1 updates
// itself to v2 exactly as the agent does. Its version (and whether it
// crashes at start) is set with -ldflags -X.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aead.dev/minisign"

	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/update"
)

var (
	version = "0.0.0"
	crash   = ""
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println(version)
		return
	}
	if crash == "yes" {
		fmt.Fprintln(os.Stderr, "fakeagent: crashing at start as built")
		os.Exit(3)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fakeagent:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: fakeagent agent|install FLAGS")
	}
	role := args[0]
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	socket := fs.String("socket", "", "local API socket")
	dir := fs.String("dir", "", "state directory")
	portalURL := fs.String("portal", "", "portal URL")
	caFile := fs.String("ca", "", "portal CA file")
	keys := fs.String("keys", "", "comma-separated minisign public keys")
	channel := fs.String("channel", "stable", "channel")
	stopAt := fs.String("stop-at", "", "install: block at this checkpoint")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("pid", os.Getpid(), "version", version)
	ca, err := os.ReadFile(*caFile)
	if err != nil {
		return err
	}
	pc, err := portal.New(portal.Config{BaseURL: *portalURL, CAPEM: string(ca), Retry: portal.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		return err
	}
	store := state.NewStore(state.Snapshot{Version: version, Update: state.Update{State: update.StateIdle}}, nil)
	restart := make(chan *update.Installed, 1)
	u, err := update.New(update.Config{
		Source: pc, Sessions: session.NewFeed(session.Status{}), Report: func(m state.Message) { store.AddError(m) }, Keys: strings.Split(*keys, ","), Channel: *channel,
		Version: version, DeviceID: []byte("device-1"), Exe: exe, Dir: *dir, Logger: log,
		Restart: func(i *update.Installed) { restart <- i },
	})
	if err != nil {
		return err
	}
	ctx := context.Background()

	if role == "check" {
		_, err := u.Check(ctx)
		json.NewEncoder(os.Stdout).Encode(u.Status())
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakeagent: check:", err)
		}
		return nil
	}
	if role == "install" {
		rel, err := u.Check(ctx)
		if err != nil || rel == nil {
			return fmt.Errorf("check: %v", err)
		}
		st, err := u.Download(ctx, rel, nil)
		if err != nil {
			return err
		}
		_, err = update.Install(st, update.InstallOptions{
			Exe: exe, Dir: *dir, FromVersion: version, Keys: mustKeys(*keys),
			Checkpoint: func(step string) {
				if step != *stopAt {
					return
				}
				os.WriteFile(filepath.Join(*dir, "reached-"+step), nil, 0o600)
				select {} // the test kills us here
			},
		})
		return err
	}

	res, err := update.Startup(*dir, version, nil, log)
	if err != nil {
		return err
	}
	if res.Reexec {
		log.Error("rolled back at startup", "failed", res.RolledBack.Version)
		return update.Reexec(res.Exe, os.Args[1:])
	}
	os.Remove(*socket)
	ln, err := net.Listen("unix", *socket)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/status":
			snap := store.Snapshot()
			snap.Update = u.Status()
			json.NewEncoder(w).Encode(snap)
		case "/v1/update/check":
			u.CheckNow()
		case "/v1/quit":
			os.Exit(0)
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	if err := update.Confirm(*dir, version); err != nil {
		return err
	}
	go u.Run(ctx)
	log.Info("serving")
	inst := <-restart
	srv.Close()
	ln.Close()
	os.Remove(*socket)
	hr, err := update.Handoff(ctx, inst, update.HandoffOptions{
		Args: os.Args[1:], Probe: update.StatusProbe(*socket), Dir: *dir,
		Timeout: 2 * time.Minute, Stdout: os.Stdout, Stderr: os.Stderr, Logger: log,
	})
	if err != nil {
		return err
	}
	if hr.RolledBack {
		return update.Reexec(inst.Exe, os.Args[1:])
	}
	return nil
}

func mustKeys(s string) []minisign.PublicKey {
	k, err := update.ParseKeys(strings.Split(s, ","))
	if err != nil {
		panic(err)
	}
	return k
}
