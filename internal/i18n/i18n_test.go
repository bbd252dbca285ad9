package i18n

import (
	"slices"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/assets"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		explicit   string
		orgDefault string
		env        map[string]string
		want       string
	}{
		{name: "german_system", env: map[string]string{"LANG": "de_DE.UTF-8"}, want: German},
		{name: "austrian_system", env: map[string]string{"LANG": "de_AT.UTF-8"}, want: German},
		{name: "english_system", env: map[string]string{"LANG": "en_GB.UTF-8"}, want: English},
		{name: "flag_overrides_system", explicit: "en", env: map[string]string{"LANG": "de_DE.UTF-8"}, want: English},
		{name: "lc_all_wins_over_lang", env: map[string]string{"LC_ALL": "de_DE.UTF-8", "LANG": "en_US.UTF-8"}, want: German},
		{name: "language_list", env: map[string]string{"LANG": "fr_FR.UTF-8", "LANGUAGE": "fr:de"}, want: German},
		{name: "c_locale_ignores_language", env: map[string]string{"LANG": "C", "LANGUAGE": "de"}, orgDefault: "", want: English},
		{name: "unsupported_system_uses_org_default", env: map[string]string{"LANG": "fr_FR.UTF-8"}, orgDefault: "de", want: German},
		{name: "nothing_set_is_english", want: English},
		{name: "bogus_flag_is_ignored", explicit: "deutsch", env: map[string]string{"LANG": "en_US.UTF-8"}, want: English},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Detect(tt.explicit, tt.orgDefault, func(k string) string { return tt.env[k] })
			if got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCatalogTranslates(t *testing.T) {
	t.Parallel()
	de, err := Load(assets.Translations, assets.TranslationsDir, German)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := de.T("state.connected"), "Verbunden – alles in Ordnung"; got != want {
		t.Errorf("T(state.connected) = %q, want %q", got, want)
	}
	if got, want := de.T("tray.announcements_unread", map[string]any{"Count": 2}), "Mitteilungen (2)"; got != want {
		t.Errorf("T(tray.announcements_unread) = %q, want %q", got, want)
	}
	if got := de.T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key = %q, want the key itself", got)
	}
}

// Every key exists in both languages and no text is empty, so no label is
// ever blank or silently English in the German UI.
func TestTranslationsComplete(t *testing.T) {
	t.Parallel()
	c, err := Load(assets.Translations, assets.TranslationsDir, German)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	de, en := c.Keys(German), c.Keys(English)
	slices.Sort(de)
	slices.Sort(en)
	if !slices.Equal(de, en) {
		t.Fatalf("key sets differ:\n de=%v\n en=%v", de, en)
	}
	for _, lang := range []string{German, English} {
		for _, k := range c.Keys(lang) {
			if strings.TrimSpace(c.messages[lang][k]) == "" {
				t.Errorf("%s: %s is empty", lang, k)
			}
		}
	}
}

func TestWindowEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want []string // appended to env
	}{
		{"c_utf8", []string{"LANG=C.UTF-8"}, []string{"LANGUAGE=de"}},
		{"plain_c", []string{"LANG=C"}, []string{"LC_ALL=C.UTF-8", "LANGUAGE=de"}},
		{"posix_lc_all", []string{"LC_ALL=POSIX", "LANG=de_DE.UTF-8"}, []string{"LC_ALL=C.UTF-8", "LANGUAGE=de"}},
		{"no_locale", []string{"HOME=/home/anna"}, []string{"LC_ALL=C.UTF-8", "LANGUAGE=de"}},
		{"german", []string{"LANG=de_DE.UTF-8", "LANGUAGE=en"}, []string{"LANGUAGE=de"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := WindowEnv(tt.env, "de")
			want := append(append([]string(nil), tt.env...), tt.want...)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("WindowEnv(%q) = %q, want %q", tt.env, got, want)
			}
		})
	}
}
