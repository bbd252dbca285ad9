// Package directory imports the portal's users from the organisation's
// directory (LDAP, Active Directory) or from a CSV file, and keeps them
// in sync. Every source yields the desired set of users; one core turns
// it into a plan (create, update, disable, enable) against the store and
// applies it, recording each change in the audit log. A dry run prints
// the plan and changes nothing.
//
// An import manages only the users of its own source: users added by
// hand (`user add`) stay untouched unless Options.TakeOverManual says so.
package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// Entry is one user as the source describes it.
type Entry struct {
	// Name is the user name employees type at enrollment; normalised
	// (lower case) by Plan.
	Name        string
	DisplayName string
	// Groups are announcement audiences and working-hours groups.
	Groups []string
	// Where says where the entry came from, for errors.
	Where Where
}

// Audit actions of the import (see docs/operations.md).
const (
	AuditUserCreate  = "directory.user.create"
	AuditUserUpdate  = "directory.user.update"
	AuditUserDisable = "directory.user.disable"
	AuditUserEnable  = "directory.user.enable"
	// AuditImportRefused: Apply refused a plan that would disable more
	// users than its limit allows; nothing was changed.
	AuditImportRefused = "directory.import.refused"
)

// Options tune a plan.
type Options struct {
	// TakeOverManual lets the import manage users added by hand with the
	// same name: they are updated (and then belong to the import), and
	// disabled when missing from the source.
	TakeOverManual bool
	// MaxDisable bounds how many users the plan may disable; nil means
	// DefaultDisableLimit.
	MaxDisable *DisableLimit
	// ConfirmDisable lets a plan beyond MaxDisable be applied when it
	// disables exactly this many users. The operator confirms the number
	// the refusal named, so a confirmation left in a timer's command line
	// does not wave through the next, different mass disable.
	ConfirmDisable int
}

// Change is one planned change of a user.
type Change struct {
	User string
	// Before is the stored user (zero for a create); After the wanted one.
	Before, After store.User
}

// Skip is a user the plan leaves alone, and why.
type Skip struct {
	User, Reason string
}

// Plan is what an import would change.
type Plan struct {
	Source                          string
	Create, Update, Disable, Enable []Change
	Skipped                         []Skip
	Unchanged                       int
	// Active is how many active users the import manages now (the ones
	// it could disable); MaxDisable how many of them it may disable
	// without confirmation, by Limit.
	Active, MaxDisable int
	Limit              DisableLimit
	// DisableConfirmed: Options.ConfirmDisable named len(Disable).
	DisableConfirmed bool
}

// CheckDisableLimit returns a *TooManyDisablesError if the plan disables
// more users than its limit allows and that was not confirmed. Apply
// checks it; callers check it first to show the refusal with the plan.
func (p Plan) CheckDisableLimit() error {
	if len(p.Disable) <= p.MaxDisable || p.DisableConfirmed {
		return nil
	}
	return &TooManyDisablesError{Source: p.Source, Disable: len(p.Disable), Active: p.Active, Allowed: p.MaxDisable, Limit: p.Limit}
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	return len(p.Create)+len(p.Update)+len(p.Disable)+len(p.Enable) == 0
}

// ErrEmptySource is returned when the source has no users but the store
// has users of that source: a wrong filter or base must not disable
// everyone.
var ErrEmptySource = errors.New("the source lists no users; refusing to disable all users it imported before (check base and filter)")

// MakePlan compares the desired entries of source with the stored users.
func MakePlan(existing []store.User, desired []Entry, source string, opts Options) (Plan, error) {
	p := Plan{Source: source}
	want := make(map[string]Entry, len(desired))
	var problems []Problem
	for _, e := range desired {
		name := portalsrv.NormaliseUser(e.Name)
		if err := portalsrv.ValidateUserName(name); err != nil {
			problems = append(problems, Problem{Code: ProblemBadUserName, Where: e.Where, Field: "user", Value: e.Name, Err: err})
			continue
		}
		if prev, ok := want[name]; ok {
			problems = append(problems, Problem{Code: ProblemDuplicate, Where: e.Where, Field: "user", Value: name, Other: prev.Where})
			continue
		}
		e.Name = name
		e.DisplayName = strings.TrimSpace(e.DisplayName)
		if e.DisplayName == "" {
			e.DisplayName = name
		}
		e.Groups = normaliseGroups(e.Groups)
		want[name] = e
	}
	if len(problems) > 0 {
		return Plan{}, &InputError{Problems: problems}
	}

	have := make(map[string]store.User, len(existing))
	managed := 0
	for _, u := range existing {
		have[u.Name] = u
		if u.Source == source {
			managed++
		}
		if !u.Disabled() && (u.Source == source || (u.Source == store.SourceManual && opts.TakeOverManual)) {
			p.Active++
		}
	}
	p.Limit = DefaultDisableLimit
	if opts.MaxDisable != nil {
		p.Limit = *opts.MaxDisable
	}
	p.MaxDisable = p.Limit.Allowed(p.Active)
	if len(want) == 0 && managed > 0 {
		return Plan{}, ErrEmptySource
	}

	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		e := want[n]
		after := store.User{Name: n, DisplayName: e.DisplayName, Groups: e.Groups, Source: source}
		u, ok := have[n]
		switch {
		case !ok:
			p.Create = append(p.Create, Change{User: n, After: after})
			continue
		case u.Source == store.SourceManual && !opts.TakeOverManual:
			p.Skipped = append(p.Skipped, Skip{n, "added by hand (user add); --take-over-manual lets the import manage it"})
			continue
		case u.Source != source && u.Source != store.SourceManual:
			p.Skipped = append(p.Skipped, Skip{n, "managed by the " + u.Source + " import"})
			continue
		}
		if u.Disabled() {
			p.Enable = append(p.Enable, Change{User: n, Before: u, After: after})
		}
		if u.DisplayName != after.DisplayName || !slices.Equal(u.Groups, after.Groups) || u.Source != source {
			p.Update = append(p.Update, Change{User: n, Before: u, After: after})
		} else if !u.Disabled() {
			p.Unchanged++
		}
	}
	for _, u := range existing {
		if _, ok := want[u.Name]; ok || u.Disabled() {
			continue
		}
		if u.Source == source || (u.Source == store.SourceManual && opts.TakeOverManual) {
			p.Disable = append(p.Disable, Change{User: u.Name, Before: u})
		}
	}
	p.DisableConfirmed = opts.ConfirmDisable > 0 && opts.ConfirmDisable == len(p.Disable)
	return p, nil
}

// normaliseGroups trims, lower-cases, sorts and de-duplicates groups, as
// announcement audiences compare them.
func normaliseGroups(gs []string) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		if g = strings.ToLower(strings.TrimSpace(g)); g != "" {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Result counts what Apply changed.
type Result struct {
	Created, Updated, Disabled, Enabled, DevicesRevoked int
}

// Apply carries out p on st and records every change in the audit log as
// actor. A plan beyond its disable limit (CheckDisableLimit) changes
// nothing: the refusal is recorded in the audit log and returned.
// Otherwise Apply stops at the first error; what was applied until then
// is in the Result and the audit log, and a new run plans the rest.
func Apply(ctx context.Context, st store.Store, p Plan, actor string, now time.Time) (Result, error) {
	var r Result
	if refused := p.CheckDisableLimit(); refused != nil {
		err := st.AppendAudit(ctx, store.AuditEvent{At: now, Actor: actor, Action: AuditImportRefused, Subject: p.Source, Details: map[string]string{
			"source": p.Source, "would_disable": strconv.Itoa(len(p.Disable)), "active": strconv.Itoa(p.Active),
			"allowed": strconv.Itoa(p.MaxDisable), "limit": p.Limit.String()}})
		if err != nil {
			return r, errors.Join(refused, fmt.Errorf("writing the refusal to the audit log: %w", err))
		}
		return r, refused
	}
	audit := func(action, subject string, details map[string]string) error {
		if details == nil {
			details = map[string]string{}
		}
		details["source"] = p.Source
		if err := st.AppendAudit(ctx, store.AuditEvent{At: now, Actor: actor, Action: action, Subject: subject, Details: details}); err != nil {
			return fmt.Errorf("%s of %s was done, but writing the audit log failed: %w", action, subject, err)
		}
		return nil
	}
	for _, c := range p.Create {
		u := c.After
		u.CreatedAt = now
		if err := st.CreateUser(ctx, u); err != nil {
			return r, fmt.Errorf("creating user %s: %w", c.User, err)
		}
		r.Created++
		if err := audit(AuditUserCreate, c.User, map[string]string{"display_name": u.DisplayName, "groups": strings.Join(u.Groups, ",")}); err != nil {
			return r, err
		}
	}
	for _, c := range p.Update {
		if err := st.UpdateUser(ctx, c.After); err != nil {
			return r, fmt.Errorf("updating user %s: %w", c.User, err)
		}
		r.Updated++
		if err := audit(AuditUserUpdate, c.User, changedFields(c.Before, c.After)); err != nil {
			return r, err
		}
	}
	for _, c := range p.Enable {
		if err := st.EnableUser(ctx, c.User); err != nil {
			return r, fmt.Errorf("enabling user %s: %w", c.User, err)
		}
		r.Enabled++
		if err := audit(AuditUserEnable, c.User, nil); err != nil {
			return r, err
		}
	}
	for _, c := range p.Disable {
		revoked, err := st.DisableUser(ctx, c.User, now)
		if err != nil {
			return r, fmt.Errorf("disabling user %s: %w", c.User, err)
		}
		r.Disabled++
		r.DevicesRevoked += len(revoked)
		if err := audit(AuditUserDisable, c.User, map[string]string{"devices_revoked": strings.Join(revoked, ",")}); err != nil {
			return r, err
		}
		for _, id := range revoked {
			if err := audit(portalsrv.AuditDeviceRevoke, id, map[string]string{"user": c.User, "reason": "user left the directory"}); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

func changedFields(before, after store.User) map[string]string {
	d := map[string]string{}
	if before.DisplayName != after.DisplayName {
		d["display_name"] = after.DisplayName
	}
	if !slices.Equal(before.Groups, after.Groups) {
		d["groups"] = strings.Join(after.Groups, ",")
	}
	if before.Source != after.Source {
		d["taken_over_from"] = before.Source
	}
	return d
}

// Write prints the plan for a person to read.
func (p Plan) Write(w io.Writer) error {
	var b strings.Builder
	for _, c := range p.Create {
		fmt.Fprintf(&b, "create   %s (%s) groups: %s\n", c.User, c.After.DisplayName, groupList(c.After.Groups))
	}
	for _, c := range p.Update {
		var what []string
		if c.Before.DisplayName != c.After.DisplayName {
			what = append(what, fmt.Sprintf("display name %q → %q", c.Before.DisplayName, c.After.DisplayName))
		}
		if !slices.Equal(c.Before.Groups, c.After.Groups) {
			what = append(what, fmt.Sprintf("groups %s → %s", groupList(c.Before.Groups), groupList(c.After.Groups)))
		}
		if c.Before.Source != c.After.Source {
			what = append(what, fmt.Sprintf("taken over from %s", c.Before.Source))
		}
		fmt.Fprintf(&b, "update   %s: %s\n", c.User, strings.Join(what, "; "))
	}
	for _, c := range p.Enable {
		fmt.Fprintf(&b, "enable   %s (back in the directory; needs a new activation letter)\n", c.User)
	}
	for _, c := range p.Disable {
		fmt.Fprintf(&b, "disable  %s (no longer in the directory; its devices are revoked)\n", c.User)
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(&b, "skip     %s: %s\n", s.User, s.Reason)
	}
	fmt.Fprintf(&b, "%d to create, %d to update, %d to enable, %d to disable, %d unchanged, %d skipped\n",
		len(p.Create), len(p.Update), len(p.Enable), len(p.Disable), p.Unchanged, len(p.Skipped))
	_, err := io.WriteString(w, b.String())
	return err
}

func groupList(gs []string) string {
	if len(gs) == 0 {
		return "-"
	}
	return strings.Join(gs, ",")
}
