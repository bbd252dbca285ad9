package colorscheme

import (
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestFromPortalValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in      dbus.Variant
		want    Scheme
		wantErr bool
	}{
		{"no_preference", dbus.MakeVariant(uint32(0)), NoPreference, false},
		{"prefer_dark", dbus.MakeVariant(uint32(1)), Dark, false},
		{"prefer_light", dbus.MakeVariant(uint32(2)), Light, false},
		{"unknown_value_is_no_preference", dbus.MakeVariant(uint32(7)), NoPreference, false},
		{"read_of_version_1_wraps_twice", dbus.MakeVariant(dbus.MakeVariant(uint32(2))), Light, false},
		{"wrong_type", dbus.MakeVariant("prefer-dark"), NoPreference, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := fromPortalValue(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("fromPortalValue(%v) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestFromTaskbarValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		v       uint64
		present bool
		want    Scheme
	}{
		{"light_taskbar", 1, true, Light},
		{"dark_taskbar", 0, true, Dark},
		{"before_1903_no_value", 0, false, Dark},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := fromTaskbarValue(tc.v, tc.present); got != tc.want {
				t.Errorf("fromTaskbarValue(%d, %v) = %v, want %v", tc.v, tc.present, got, tc.want)
			}
		})
	}
}
