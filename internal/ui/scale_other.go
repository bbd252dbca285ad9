//go:build !linux || wayland

package ui

// xResources is empty where there is no X11: Fyne follows the system's
// scale itself on Windows and Wayland.
func xResources() string { return "" }
