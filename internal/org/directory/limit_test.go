package directory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/directory"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

func TestParseDisableLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want directory.DisableLimit
		err  bool
	}{
		{"25", directory.DisableLimit{Users: 25}, false},
		{"0", directory.DisableLimit{}, false},
		{"5%", directory.DisableLimit{Percent: 5}, false},
		{" 2.5 % ", directory.DisableLimit{Percent: 2.5}, false},
		{"100%", directory.DisableLimit{Percent: 100}, false},
		{"101%", directory.DisableLimit{}, true},
		{"-1", directory.DisableLimit{}, true},
		{"viele", directory.DisableLimit{}, true},
		{"", directory.DisableLimit{}, true},
	} {
		t.Run(strings.TrimSpace(tc.in), func(t *testing.T) {
			t.Parallel()
			got, err := directory.ParseDisableLimit(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ParseDisableLimit(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestDisableLimitAllowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limit  directory.DisableLimit
		active int
		want   int
	}{
		{directory.DefaultDisableLimit, 0, 10},
		{directory.DefaultDisableLimit, 40, 10},
		{directory.DefaultDisableLimit, 5800, 290},
		{directory.DisableLimit{Users: 3}, 5800, 3},
		{directory.DisableLimit{Percent: 10}, 57, 5},
		{directory.DisableLimit{}, 5800, 0},
	} {
		if got := tc.limit.Allowed(tc.active); got != tc.want {
			t.Errorf("%+v.Allowed(%d) = %d, want %d", tc.limit, tc.active, got, tc.want)
		}
	}
}

// csvUsers are n active users of the CSV import, csv000 …
func csvUsers(n int) []store.User {
	us := make([]store.User, n)
	for i := range us {
		us[i] = store.User{Name: fmt.Sprintf("csv%03d", i), DisplayName: fmt.Sprintf("Nr. %d", i), Source: store.SourceCSV}
	}
	return us
}

func entriesOf(us []store.User) []directory.Entry {
	es := make([]directory.Entry, len(us))
	for i, u := range us {
		es[i] = directory.Entry{Name: u.Name, DisplayName: u.DisplayName, Where: directory.Where{Line: i + 1}}
	}
	return es
}

// The limit counts the active users the import manages (not disabled
// ones, not another import's, hand-added only when taken over), and a
// confirmation passes only the exact number it names.
func TestPlanDisableLimit(t *testing.T) {
	t.Parallel()
	existing := csvUsers(300)
	existing = append(existing,
		store.User{Name: "weg", Source: store.SourceCSV, DisabledAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		store.User{Name: "ldapuser", Source: store.SourceLDAP},
		store.User{Name: "hand", Source: store.SourceManual})
	keep := entriesOf(existing[:280]) // 20 of 300 gone: more than 15 (5 %)

	p, err := directory.MakePlan(existing, keep, store.SourceCSV, directory.Options{})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	var tooMany *directory.TooManyDisablesError
	if err := p.CheckDisableLimit(); !errors.As(err, &tooMany) {
		t.Fatalf("CheckDisableLimit = %v, want TooManyDisablesError", err)
	}
	if want := (directory.TooManyDisablesError{Source: "csv", Disable: 20, Active: 300, Allowed: 15, Limit: directory.DefaultDisableLimit}); *tooMany != want {
		t.Errorf("refusal = %+v, want %+v", *tooMany, want)
	}
	for _, want := range []string{"would disable 20 of the 300 active users", "at most 15", "--confirm-disable 20", "Nothing was changed"} {
		if !strings.Contains(tooMany.Error(), want) {
			t.Errorf("refusal %q lacks %q", tooMany, want)
		}
	}

	for _, tc := range []struct {
		name string
		opts directory.Options
		ok   bool
	}{
		{"confirmed_exact_number", directory.Options{ConfirmDisable: 20}, true},
		{"confirmed_other_number", directory.Options{ConfirmDisable: 19}, false},
		{"higher_limit", directory.Options{MaxDisable: &directory.DisableLimit{Users: 20}}, true},
		{"higher_share", directory.Options{MaxDisable: &directory.DisableLimit{Percent: 7}}, true},
		{"lower_limit", directory.Options{MaxDisable: &directory.DisableLimit{Users: 19}}, false},
		// Taking over the hand-added user makes it one more to disable
		// and one more managed: 21 of 301, still beyond 15.
		{"take_over_counts", directory.Options{TakeOverManual: true, ConfirmDisable: 20}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := directory.MakePlan(existing, keep, store.SourceCSV, tc.opts)
			if err != nil {
				t.Fatalf("MakePlan: %v", err)
			}
			if err := p.CheckDisableLimit(); (err == nil) != tc.ok {
				t.Errorf("CheckDisableLimit = %v, want ok %v (plan disables %d of %d, allowed %d)", err, tc.ok, len(p.Disable), p.Active, p.MaxDisable)
			}
		})
	}

	// Within the default limit nothing needs confirming.
	p, err = directory.MakePlan(existing, entriesOf(existing[:285]), store.SourceCSV, directory.Options{})
	if err != nil || p.CheckDisableLimit() != nil || len(p.Disable) != 15 {
		t.Errorf("15 of 300 gone: plan disables %d, CheckDisableLimit = %v, %v", len(p.Disable), p.CheckDisableLimit(), err)
	}
}

// A refused plan changes nothing at all — no user created, updated or
// disabled — and leaves one audit entry saying what it would have done.
func TestApplyRefusedChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, t.TempDir()+"/p.db")
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	for _, u := range csvUsers(40) {
		u.CreatedAt = now
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	// The file is cut short after 12 lines, and one new person and one
	// change came with it.
	users, _ := st.Users(ctx)
	short := entriesOf(users[:12])
	short[0].DisplayName = "Neuer Name"
	short = append(short, directory.Entry{Name: "neu", DisplayName: "Neu", Where: directory.Where{Line: 13}})
	p, err := directory.MakePlan(users, short, store.SourceCSV, directory.Options{})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	res, err := directory.Apply(ctx, st, p, "admin:test", now)
	var tooMany *directory.TooManyDisablesError
	if !errors.As(err, &tooMany) || tooMany.Disable != 28 || tooMany.Active != 40 || tooMany.Allowed != 10 {
		t.Fatalf("Apply = %v, want 28 of 40 refused (10 allowed)", err)
	}
	if res != (directory.Result{}) {
		t.Errorf("refused Apply reports changes: %+v", res)
	}
	after, _ := st.Users(ctx)
	if len(after) != 40 {
		t.Errorf("users after a refused apply = %d, want 40", len(after))
	}
	for _, u := range after {
		if u.Disabled() || u.DisplayName == "Neuer Name" {
			t.Errorf("refused apply changed %+v", u)
		}
	}
	evs, _ := st.AuditEvents(ctx, 0, time.Time{}, 100)
	if len(evs) != 1 {
		t.Fatalf("audit after a refused apply = %+v, want only the refusal", evs)
	}
	e := evs[0]
	if e.Action != directory.AuditImportRefused || e.Subject != "csv" || e.Actor != "admin:test" ||
		e.Details["would_disable"] != "28" || e.Details["active"] != "40" || e.Details["allowed"] != "10" {
		t.Errorf("refusal audit = %+v", e)
	}

	// Confirmed with the number the refusal named, it applies.
	p, err = directory.MakePlan(users, short, store.SourceCSV, directory.Options{ConfirmDisable: tooMany.Disable})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	res, err = directory.Apply(ctx, st, p, "admin:test", now)
	if err != nil || res.Disabled != 28 || res.Created != 1 || res.Updated != 1 {
		t.Fatalf("confirmed Apply = %+v, %v", res, err)
	}
}
