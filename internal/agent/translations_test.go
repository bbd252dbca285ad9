package agent

import (
	"testing"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/i18n"
)

// Every message key the wizard and the health checks can emit has a
// German and an English text, so no screen ever shows a bare key.
func TestEmittedKeysAreTranslated(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{i18n.German, i18n.English} {
		cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, lang)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, k := range cat.Keys(lang) {
			have[k] = true
		}
		for _, set := range [][]string{enroll.MessageKeys(), health.TranslationKeys()} {
			for _, k := range set {
				if !have[k] {
					t.Errorf("%s: no text for %q", lang, k)
				}
			}
		}
	}
}
