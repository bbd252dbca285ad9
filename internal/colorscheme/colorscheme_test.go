package colorscheme

import "testing"

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
