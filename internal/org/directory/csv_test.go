package directory_test

import (
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/directory"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

func TestReadCSV(t *testing.T) {
	t.Parallel()
	in := "\ufeffuser,display name,groups\r\n" +
		"Anna.Schmidt,Anna Schmidt,Bauamt;IT\r\n" +
		"\r\n" +
		"joerg,\"Müller, Jörg\",\r\n" +
		"kai,Kai Böhm\r\n"
	got, err := directory.ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	want := []directory.Entry{
		{Name: "Anna.Schmidt", DisplayName: "Anna Schmidt", Groups: []string{"Bauamt", "IT"}, Where: directory.Where{Line: 2}},
		{Name: "joerg", DisplayName: "Müller, Jörg", Groups: []string{""}, Where: directory.Where{Line: 4}},
		{Name: "kai", DisplayName: "Kai Böhm", Where: directory.Where{Line: 5}},
	}
	if len(got) != len(want) {
		t.Fatalf("ReadCSV = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DisplayName != w.DisplayName || !slices.Equal(g.Groups, w.Groups) || g.Where != w.Where {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
}

// Every bad line is named, and nothing is returned to apply.
func TestReadCSVReportsEveryBadLine(t *testing.T) {
	t.Parallel()
	in := "anna,Anna,bauamt\n" +
		"bernd\n" +
		",Niemand,x\n" +
		"carl,Carl,a,b\n" +
		"dora,\"Dora\" Dietz,x\n" +
		"emil,Emil,it\n"
	got, err := directory.ReadCSV(strings.NewReader(in))
	var ie *directory.InputError
	if !errors.As(err, &ie) || got != nil {
		t.Fatalf("ReadCSV = %v, %v; want an InputError and no entries", got, err)
	}
	for _, want := range []string{"line 2: 1 fields", "line 3: the user name is empty", "line 4: 4 fields", "line 5:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	want := []directory.Problem{
		{Code: directory.ProblemFieldCount, Where: directory.Where{Line: 2}, Fields: 1},
		{Code: directory.ProblemNoUserName, Where: directory.Where{Line: 3}, Field: "user"},
		{Code: directory.ProblemFieldCount, Where: directory.Where{Line: 4}, Fields: 4},
		{Code: directory.ProblemSyntax, Where: directory.Where{Line: 5}, Column: 11, Err: csv.ErrQuote},
	}
	if len(ie.Problems) != len(want) {
		t.Fatalf("problems = %+v, want %d", ie.Problems, len(want))
	}
	for i, w := range want {
		if g := ie.Problems[i]; g != w {
			t.Errorf("problem %d = %#v, want %#v", i, g, w)
		}
	}
	_, err = directory.ReadCSV(strings.NewReader("anna,\xff\xfe,x\n"))
	if !errors.As(err, &ie) || len(ie.Problems) != 1 || ie.Problems[0].Code != directory.ProblemNotUTF8 || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("non-UTF-8 file: %v", err)
	}
}

// Duplicates and unusable names fail the plan as a whole; nothing is
// applied.
func TestPlanRefusesBadEntries(t *testing.T) {
	t.Parallel()
	_, err := directory.MakePlan(nil, []directory.Entry{
		{Name: "Anna", Where: directory.Where{Line: 1}}, {Name: "anna ", Where: directory.Where{Line: 7}}, {Name: "x\x00y", Where: directory.Where{Line: 9}},
	}, store.SourceCSV, directory.Options{})
	var ie *directory.InputError
	if !errors.As(err, &ie) || len(ie.Problems) != 2 || !strings.Contains(err.Error(), `line 7: user "anna" is also at line 1`) {
		t.Fatalf("MakePlan = %v, want the duplicate at line 7 (first at line 1) and the bad name", err)
	}
	// The console words them itself: every fact is in fields.
	dup, bad := ie.Problems[0], ie.Problems[1]
	if dup.Code != directory.ProblemDuplicate || dup.Where.Line != 7 || dup.Other.Line != 1 || dup.Value != "anna" || dup.Field != "user" {
		t.Errorf("duplicate = %+v", dup)
	}
	if bad.Code != directory.ProblemBadUserName || bad.Where.Line != 9 || !errors.Is(bad, portalsrv.ErrUserNameUntypable) {
		t.Errorf("bad name = %+v, want ErrUserNameUntypable at line 9", bad)
	}
}

// An import manages its own users only: hand-added users and the other
// import's are skipped unless taken over; an empty source disables no one.
func TestPlanTouchesOnlyItsOwnUsers(t *testing.T) {
	t.Parallel()
	existing := []store.User{
		{Name: "hand", DisplayName: "Hand", Source: store.SourceManual},
		{Name: "gone", DisplayName: "Gone", Source: store.SourceCSV},
		{Name: "handgone", DisplayName: "HG", Source: store.SourceManual},
		{Name: "ldapuser", DisplayName: "L", Source: store.SourceLDAP},
		{Name: "same", DisplayName: "Same", Groups: []string{"a", "b"}, Source: store.SourceCSV},
	}
	desired := []directory.Entry{
		{Name: "hand", DisplayName: "Hand Neu"}, {Name: "ldapuser", DisplayName: "L"},
		{Name: "same", DisplayName: "Same", Groups: []string{"B", " a", "a"}}, {Name: "new", DisplayName: "Neu"},
	}
	p, err := directory.MakePlan(existing, desired, store.SourceCSV, directory.Options{})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	names := func(cs []directory.Change) (out []string) {
		for _, c := range cs {
			out = append(out, c.User)
		}
		return out
	}
	if !slices.Equal(names(p.Create), []string{"new"}) || len(p.Update) != 0 || !slices.Equal(names(p.Disable), []string{"gone"}) || len(p.Skipped) != 2 || p.Unchanged != 1 {
		t.Errorf("plan = %+v", p)
	}
	p, err = directory.MakePlan(existing, desired, store.SourceCSV, directory.Options{TakeOverManual: true})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	if !slices.Equal(names(p.Update), []string{"hand"}) || !slices.Equal(names(p.Disable), []string{"gone", "handgone"}) {
		t.Errorf("plan taking over = %+v", p)
	}
	if _, err := directory.MakePlan(existing, nil, store.SourceCSV, directory.Options{}); !errors.Is(err, directory.ErrEmptySource) {
		t.Errorf("empty source: %v, want ErrEmptySource", err)
	}
}

// A dry run prints the plan; applying it changes the store and writes
// one audit entry per change.
func TestCSVImportAppliesThePlan(t *testing.T) {
	t.Parallel()
	st, err := store.OpenSQLite(context.Background(), t.TempDir()+"/p.db")
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	entries, err := directory.ReadCSV(strings.NewReader("anna,Anna Schmidt,bauamt\nkai,Kai Böhm,kaemmerei;bauamt\n"))
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	p, err := directory.MakePlan(nil, entries, store.SourceCSV, directory.Options{})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	var b strings.Builder
	if err := p.Write(&b); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if want := "create   kai (Kai Böhm) groups: bauamt,kaemmerei\n"; !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "2 to create") {
		t.Errorf("plan text:\n%s\nwant %q", b.String(), want)
	}
	now := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	res, err := directory.Apply(context.Background(), st, p, "admin:root", now)
	if err != nil || res.Created != 2 {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	evs, _ := st.AuditEvents(context.Background(), 0, time.Time{}, 10)
	if len(evs) != 2 || evs[0].Action != directory.AuditUserCreate || evs[0].Details["source"] != "csv" || evs[0].Actor != "admin:root" {
		t.Errorf("audit = %+v", evs)
	}
}
