package console

import (
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/directory"
)

// A city's numbers read as Germans write them.
func TestRefusalTextInGerman(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  directory.TooManyDisablesError
		want string
	}{
		{"default_limit", directory.TooManyDisablesError{Source: "csv", Disable: 4812, Active: 5800, Allowed: 290, Limit: directory.DefaultDisableLimit},
			"Der Import würde 4.812 von 5.800 aktiven Benutzerkonten sperren, die er verwaltet, und ihre Geräte ebenfalls. " +
				"Ohne Bestätigung sperrt ein Import höchstens 290 Konten (5 % der aktiven Konten, mindestens 10). Ist die Datei vollständig? Es wurde nichts geändert."},
		{"share_only", directory.TooManyDisablesError{Disable: 1200, Active: 1_250_000, Allowed: 1125, Limit: directory.DisableLimit{Percent: 0.09}},
			"Der Import würde 1.200 von 1.250.000 aktiven Benutzerkonten sperren, die er verwaltet, und ihre Geräte ebenfalls. " +
				"Ohne Bestätigung sperrt ein Import höchstens 1.125 Konten (0,09 % der aktiven Konten). Ist die Datei vollständig? Es wurde nichts geändert."},
		{"number_only", directory.TooManyDisablesError{Disable: 12, Active: 40, Allowed: 3, Limit: directory.DisableLimit{Users: 3}},
			"Der Import würde 12 von 40 aktiven Benutzerkonten sperren, die er verwaltet, und ihre Geräte ebenfalls. " +
				"Ohne Bestätigung sperrt ein Import höchstens 3 Konten. Ist die Datei vollständig? Es wurde nichts geändert."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := refusalText(&tc.err); got != tc.want {
				t.Errorf("refusalText =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1.000", 4812: "4.812", 1234567: "1.234.567"} {
		if got := germanInt(n); got != want {
			t.Errorf("germanInt(%d) = %q, want %q", n, got, want)
		}
	}
}
