//go:build linux

package agent

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Advising our own code pages out works and leaves the process running
// (the test binary's code is paged back in as it continues).
func TestTrimResidentCode(t *testing.T) {
	before := statusKB(t, "RssFile:")
	n := trimResidentCode()
	after := statusKB(t, "RssFile:")
	if after >= before {
		t.Errorf("file-backed RSS %d kB before, %d kB after: nothing reclaimed", before, after)
	}
	t.Logf("file-backed RSS %d kB -> %d kB", before, after)
	if n <= 0 {
		t.Fatalf("trimResidentCode advised %d bytes; want the executable's read-only mappings", n)
	}
	st, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if n < st.Size()/4 {
		t.Errorf("advised %d bytes of a %d-byte executable", n, st.Size())
	}
}

func statusKB(tb testing.TB, field string) int64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}
