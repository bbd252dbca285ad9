package directory

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ReadCSV reads users from CSV: user,display name,groups with groups
// separated by ";". A first line "user,…" is a header and skipped; empty
// lines too. Fields may be quoted; a comma in a display name needs
// quotes. Every bad line is reported (InputError), not only the first,
// and then no entry is returned.
func ReadCSV(r io.Reader) ([]Entry, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the CSV file: %w", err)
	}
	// Spreadsheets save UTF-8 with a byte order mark.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		return nil, &InputError{Problems: []Problem{{Code: ProblemNotUTF8}}}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // checked below, with a clearer message
	cr.TrimLeadingSpace = true
	var out []Entry
	var problems []Problem
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				problems = append(problems, Problem{Code: ProblemSyntax, Where: Where{Line: pe.Line}, Column: runeColumn(data, pe.Line, pe.Column), Err: pe.Err})
				continue
			}
			return nil, fmt.Errorf("reading the CSV file: %w", err)
		}
		isFirst := first
		first = false
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if isFirst && strings.EqualFold(strings.TrimSpace(rec[0]), "user") {
			continue
		}
		where := Where{Line: line}
		if len(rec) < 2 || len(rec) > 3 {
			problems = append(problems, Problem{Code: ProblemFieldCount, Where: where, Fields: len(rec)})
			continue
		}
		e := Entry{Name: strings.TrimSpace(rec[0]), DisplayName: strings.TrimSpace(rec[1]), Where: where}
		if e.Name == "" {
			problems = append(problems, Problem{Code: ProblemNoUserName, Where: where, Field: "user"})
			continue
		}
		if len(rec) == 3 {
			e.Groups = strings.Split(rec[2], ";")
		}
		out = append(out, e)
	}
	if len(problems) > 0 {
		return nil, &InputError{Problems: problems}
	}
	return out, nil
}

// runeColumn turns encoding/csv's byte column into the character a
// person counts to: "Zeichen 13" on a line with umlauts.
func runeColumn(data []byte, line, byteColumn int) int {
	lines := bytes.SplitN(data, []byte("\n"), line+1)
	if line < 1 || line > len(lines) {
		return byteColumn
	}
	l := lines[line-1]
	return utf8.RuneCount(l[:min(max(byteColumn-1, 0), len(l))]) + 1
}
