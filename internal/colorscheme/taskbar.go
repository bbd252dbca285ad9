package colorscheme

// fromTaskbarValue reads Windows' SystemUsesLightTheme: 1 is a light
// taskbar, 0 a dark one. Without the value the taskbar is dark (Windows
// before 10 1903 had no other).
func fromTaskbarValue(v uint64, present bool) Scheme {
	if present && v == 1 {
		return Light
	}
	return Dark
}
