package i18n

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/assets"
)

// Every word docs/glossary.md lists as "not to be used" (in backticks in
// its last column) appears in no translation: one word for each thing.
func TestGlossaryWordsNotUsed(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/glossary.md")
	if err != nil {
		t.Fatalf("reading the glossary: %v", err)
	}
	var banned []string
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[4], -1) {
			banned = append(banned, m[1])
		}
	}
	if len(banned) < 10 {
		t.Fatalf("found only %d banned words in the glossary: %q", len(banned), banned)
	}
	cat, err := Load(assets.Translations, assets.TranslationsDir, German)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{German, English} {
		for key, text := range cat.messages[lang] {
			for _, word := range banned {
				if regexp.MustCompile(`\b` + regexp.QuoteMeta(word) + `\b`).MatchString(text) {
					t.Errorf("%s %s uses %q, which docs/glossary.md rules out: %s", lang, key, word, text)
				}
			}
		}
	}
}

// Attempts left are counted in words, in the right number.
func TestAttemptsLeftPlural(t *testing.T) {
	t.Parallel()
	tests := []struct{ lang, attempts, want string }{
		{German, "1", "Noch 1 Versuch."},
		{German, "4", "Noch 4 Versuche."},
		{English, "1", "1 attempt left."},
		{English, "4", "4 attempts left."},
	}
	for _, tt := range tests {
		cat, err := Load(assets.Translations, assets.TranslationsDir, tt.lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"portal.error.invalid_login_attempts", "portal.error.wrong_code_attempts", "portal.error.wrong_code_clock_attempts"} {
			if got := cat.T(key, map[string]string{"Attempts": tt.attempts}); !strings.HasSuffix(got, " "+tt.want) {
				t.Errorf("%s %s with %s: %q, want it to end in %q", tt.lang, key, tt.attempts, got, tt.want)
			}
		}
	}
}
