// Package installtest checks the installed Linux package end to end:
// the helper started as its systemd unit says, the agent as the XDG
// autostart entry says, and home office reaching the demo intranet
// through the system's routing and DNS, with no proxy (issue 16).
// scripts/package-check.sh runs it, as root, inside a network namespace
// of its own, after installing the .deb; elsewhere it skips.
package installtest
