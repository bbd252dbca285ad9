package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/sealing"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// adminActor names who runs the command line in the audit log: the user
// who called sudo, else the process's user.
func adminActor() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return "admin:" + u
	}
	if u, err := user.Current(); err == nil {
		return "admin:" + u.Username
	}
	return fmt.Sprintf("admin:uid=%d", os.Getuid())
}

// auditAdmin records an admin command that has succeeded.
func auditAdmin(ctx context.Context, st store.Store, action, subject string, details map[string]string) error {
	err := st.AppendAudit(ctx, store.AuditEvent{At: time.Now(), Actor: adminActor(), Action: action, Subject: subject, Details: details})
	if err != nil {
		return fmt.Errorf("done, but writing the audit log failed: %w", err)
	}
	return nil
}

// auditLine is one line of `audit export`.
type auditLine struct {
	ID      int64             `json:"id"`
	Time    time.Time         `json:"time"`
	Actor   string            `json:"actor"`
	Action  string            `json:"action"`
	Subject string            `json:"subject"`
	Details map[string]string `json:"details,omitempty"`
}

func auditExport(args []string, out io.Writer) error {
	fs, _ := flags("audit export")
	since := fs.String("since", "", `only events at or after this time (RFC 3339 or "2006-01-02 15:04")`)
	after := fs.Int64("after-id", 0, "only events with a larger id (continue an earlier export)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var from time.Time
	if *since != "" {
		var err error
		if from, err = parseTime(*since); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	return exportAudit(context.Background(), st, *after, from, out)
}

// exportAudit writes the audit log as JSON lines, page by page, so a
// log of millions of entries needs no more memory than a page.
func exportAudit(ctx context.Context, st store.AuditLog, after int64, since time.Time, out io.Writer) error {
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	for {
		page, err := st.AuditEvents(ctx, after, since, 1000)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := enc.Encode(auditLine{ID: e.ID, Time: e.At.UTC(), Actor: e.Actor, Action: e.Action, Subject: e.Subject, Details: e.Details}); err != nil {
				return err
			}
			after = e.ID
		}
		if len(page) < 1000 {
			return w.Flush()
		}
	}
}

// keysRotate adds a new sealing key and re-seals every stored secret
// with it. The old keys stay in the file (running portals may still
// hold rows sealed with them until this finishes).
func keysRotate(args []string, out io.Writer) error {
	fs, _ := flags("keys rotate")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	// openStore seals clear text and re-seals under the current key first.
	st, err := openStore(fs)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := sealing.Open(keyFilePath(fs))
	if err != nil {
		return err
	}
	id, err := keys.Add()
	if err != nil {
		return err
	}
	ctx := context.Background()
	n, err := store.Reseal(ctx, st, keys)
	if err != nil {
		return fmt.Errorf("key %d added, but re-sealing failed (run keys rotate again): %w", id, err)
	}
	fmt.Fprintf(out, "key %d now seals; %d secret(s) re-sealed with it\n", id, n)
	return auditAdmin(ctx, st, "admin.keys.rotate", keyFilePath(fs), map[string]string{"key": fmt.Sprint(id), "resealed": fmt.Sprint(n)})
}
