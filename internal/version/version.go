// Package version holds the program's version. The Makefile sets it from
// the VERSION file at build time, the one place a release number lives.
package version

import "runtime/debug"

// Version is set with -ldflags "-X github.com/dienstweg/dienstweg/internal/version.Version=…".
var Version = ""

// String returns the version, or a development marker with the VCS
// revision when built without the Makefile (go run, go test).
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				return "0.0.0-dev+" + s.Value[:7]
			}
		}
	}
	return "0.0.0-dev"
}
