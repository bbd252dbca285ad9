package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The release number lives in VERSION; FyneApp.toml must say the same.
func TestFyneAppVersionMatchesVERSION(t *testing.T) {
	v, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	toml, err := os.ReadFile("../../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*Version\s*=\s*"([^"]+)"`).FindSubmatch(toml)
	if m == nil {
		t.Fatal("FyneApp.toml has no Version")
	}
	if got, want := string(m[1]), strings.TrimSpace(string(v)); got != want {
		t.Errorf("FyneApp.toml Version = %q, VERSION = %q", got, want)
	}
}
