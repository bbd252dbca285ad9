package authcode

import (
	"strings"
	"testing"
)

func TestNormalise(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "123456", "123456", true},
		{"leading_zeros", "000042", "000042", true},
		{"grouped_as_the_app_shows_it", "123 456", "123456", true},
		{"pasted_with_newline", " 123456\n", "123456", true},
		{"tabs_and_no_break_spaces", "12\t34\u00a056\u202f", "123456", true},
		{"full_width", "１２３４５６", "123456", true},
		{"full_width_with_ideographic_space", "１２３\u3000４５６", "123456", true},
		{"mixed_widths", "12３4５6", "123456", true},
		{"empty", "", "", false},
		{"only_spaces", "   ", "", false},
		{"five_digits", "12345", "", false},
		{"seven_digits", "1234567", "", false},
		{"letters", "12a456", "", false},
		{"letter_o_for_zero", "12345O", "", false},
		{"dash", "123-456", "", false},
		{"sign", "+12345", "", false},
		{"arabic_indic_digits", "١٢٣٤٥٦", "", false},
		{"very_long", strings.Repeat("1", 10_000), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Normalise(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Normalise(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
