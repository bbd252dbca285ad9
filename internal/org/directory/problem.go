package directory

import (
	"fmt"
	"strings"
)

// Where is where an entry is in its source: a CSV line or an LDAP
// entry's DN.
type Where struct {
	Line int
	DN   string
}

func (w Where) String() string {
	switch {
	case w.DN != "":
		return w.DN
	case w.Line > 0:
		return fmt.Sprintf("line %d", w.Line)
	}
	return "the file"
}

// ProblemCode says what is wrong with a source, so that each reader (the
// CLI in English, the console in German) words it itself.
type ProblemCode string

const (
	// ProblemNotUTF8: the CSV file is not UTF-8 text.
	ProblemNotUTF8 ProblemCode = "not_utf8"
	// ProblemSyntax: a quote out of place; Err is csv.ErrQuote or
	// csv.ErrBareQuote, Column says where.
	ProblemSyntax ProblemCode = "csv_syntax"
	// ProblemFieldCount: a line has not 2 or 3 fields; Fields says how
	// many it has.
	ProblemFieldCount ProblemCode = "field_count"
	// ProblemNoUserName: the user name is empty, or the LDAP entry lacks
	// the attribute Field.
	ProblemNoUserName ProblemCode = "no_user_name"
	// ProblemBadUserName: the name can never enroll; Err is one of
	// portalsrv.ErrUserName….
	ProblemBadUserName ProblemCode = "bad_user_name"
	// ProblemDuplicate: the user name Value is also at Other.
	ProblemDuplicate ProblemCode = "duplicate"
)

// Problem is one thing wrong with a source's entries.
type Problem struct {
	Code  ProblemCode
	Where Where
	// Column of a ProblemSyntax: the character (not byte) on the line,
	// from 1.
	Column int
	// Field is the CSV field ("user") or the LDAP attribute concerned.
	Field string
	// Value is the user name concerned, as the source spells it.
	Value string
	// Fields is how many fields the line has (ProblemFieldCount).
	Fields int
	// Other is where the first entry of a ProblemDuplicate is.
	Other Where
	// Err is the underlying reason, if any.
	Err error
}

func (p Problem) Error() string {
	switch p.Code {
	case ProblemNotUTF8:
		return `the file is not UTF-8 text (save it as "CSV UTF-8")`
	case ProblemSyntax:
		return fmt.Sprintf("%s: %v", p.Where, p.Err)
	case ProblemFieldCount:
		return fmt.Sprintf("%s: %d fields, want user,display name,groups (groups separated by ;)", p.Where, p.Fields)
	case ProblemNoUserName:
		if p.Where.DN != "" {
			return fmt.Sprintf("%s: no %s", p.Where, p.Field)
		}
		return fmt.Sprintf("%s: the user name is empty", p.Where)
	case ProblemBadUserName:
		return fmt.Sprintf("%s: user %q: %v", p.Where, p.Value, p.Err)
	case ProblemDuplicate:
		return fmt.Sprintf("%s: user %q is also at %s", p.Where, p.Value, p.Other)
	}
	return fmt.Sprintf("%s: %s", p.Where, p.Code)
}

func (p Problem) Unwrap() error { return p.Err }

// InputError lists what is wrong with a source's entries; nothing is
// applied while there is one.
type InputError struct {
	Problems []Problem
}

func (e *InputError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return fmt.Sprintf("%d problems, nothing was changed:\n  %s", len(e.Problems), strings.Join(lines, "\n  "))
}
