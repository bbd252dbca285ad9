//go:build linux && !wayland

package ui

/*
#cgo LDFLAGS: -lX11
#include <stdlib.h>
#include <X11/Xlib.h>
*/
import "C"

// xResources is the X server's resource database as text, "" without a
// display. Xlib reads it when the display is opened.
func xResources() string {
	dpy := C.XOpenDisplay(nil)
	if dpy == nil {
		return ""
	}
	defer C.XCloseDisplay(dpy)
	s := C.XResourceManagerString(dpy)
	if s == nil {
		return ""
	}
	return C.GoString(s)
}
