package letters

import (
	"context"
	"fmt"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// Issue gives each user a new activation code valid for ttl, records one
// audit entry per code (who issued a code to whom is what the log is asked
// when a letter goes astray) and returns the letters to print. On an
// error it also returns the letters of the codes issued so far: those
// codes replaced older ones, so their letters are the only way in.
// progress, if not nil, is told how many codes are issued after each one.
func Issue(ctx context.Context, st store.Store, users []store.User, now time.Time, ttl time.Duration, actor, action string, progress func(done int)) ([]Letter, error) {
	var ls []Letter
	for i, u := range users {
		code, err := portalsrv.IssueActivationCode(ctx, st, u.Name, now, ttl)
		if err != nil {
			return ls, fmt.Errorf("issuing the code for %s (letter %d of %d): %w", u.Name, i+1, len(users), err)
		}
		ls = append(ls, Letter{FullName: u.DisplayName, User: u.Name, Code: code, ValidUntil: now.Add(ttl)})
		err = st.AppendAudit(ctx, store.AuditEvent{At: now, Actor: actor, Action: action, Subject: u.Name,
			Details: map[string]string{"valid_until": now.Add(ttl).UTC().Format(time.RFC3339)}})
		if err != nil {
			return ls, fmt.Errorf("the code for %s (letter %d of %d) was issued, but writing the audit log failed: %w", u.Name, i+1, len(users), err)
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	return ls, nil
}
