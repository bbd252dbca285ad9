// Package letterstest reads printed letters back the way a printer or a
// screen reader sees them, with poppler's pdftotext.
package letterstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Pages is the text of each page of pdf, with every run of white space
// made one space (line wrapping is layout, not content).
func Pages(tb testing.TB, pdf []byte) []string {
	tb.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		tb.Fatal("pdftotext is missing: install Debian's poppler-utils (scripts/deps.sh does)")
	}
	path := filepath.Join(tb.TempDir(), "letters.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		tb.Fatalf("pdftotext: %v", err)
	}
	pages := strings.Split(strings.TrimRight(string(out), "\f\n"), "\f")
	for i := range pages {
		pages[i] = strings.Join(strings.Fields(pages[i]), " ")
	}
	return pages
}
