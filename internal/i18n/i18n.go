// Package i18n translates the agent's and the command line's texts from the
// same embedded files that the ui role gives to Fyne's lang package. It does
// not import Fyne, so the tray process stays free of it.
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"text/template"
)

// Supported languages; the first is the fallback for missing keys.
const (
	German  = "de"
	English = "en"
)

// Catalog holds the translations of all languages. It is safe for
// concurrent use once loaded.
type Catalog struct {
	lang     string
	messages map[string]map[string]string // lang → key → text

	mu        sync.Mutex
	templates map[string]*template.Template // cache: lang+key
}

// Load reads every <lang>.json in dir of fsys and selects lang.
func Load(fsys fs.FS, dir, lang string) (*Catalog, error) {
	c := &Catalog{lang: lang, messages: map[string]map[string]string{}, templates: map[string]*template.Template{}}
	for _, l := range []string{German, English} {
		data, err := fs.ReadFile(fsys, path.Join(dir, l+".json"))
		if err != nil {
			return nil, fmt.Errorf("reading %s translations: %w", l, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("parsing %s translations: %w", l, err)
		}
		c.messages[l] = m
	}
	if _, ok := c.messages[lang]; !ok {
		return nil, fmt.Errorf("unsupported language %q", lang)
	}
	return c, nil
}

// Lang returns the selected language.
func (c *Catalog) Lang() string { return c.lang }

// Keys lists the keys of one language, for completeness tests.
func (c *Catalog) Keys(lang string) []string {
	keys := make([]string, 0, len(c.messages[lang]))
	for k := range c.messages[lang] {
		keys = append(keys, k)
	}
	return keys
}

// T translates key, filling {{.Name}} placeholders from data (a map or
// struct). A missing key falls back to English, then to the key itself, so
// a gap shows up as a visible key rather than an empty label.
func (c *Catalog) T(key string, data ...any) string {
	lang := c.lang
	text, ok := c.messages[lang][key]
	if !ok {
		lang = English
		text, ok = c.messages[English][key]
	}
	if !ok {
		return key
	}
	if len(data) == 0 || !strings.Contains(text, "{{") {
		return text
	}
	t, err := c.template(lang, key, text)
	if err != nil {
		return text
	}
	var b strings.Builder
	if err := t.Execute(&b, data[0]); err != nil {
		return text
	}
	return b.String()
}

func (c *Catalog) template(lang, key, text string) (*template.Template, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := lang + "\x00" + key
	if t, ok := c.templates[id]; ok {
		return t, nil
	}
	t, err := template.New(key).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, err
	}
	c.templates[id] = t
	return t, nil
}

// Detect picks the language: an explicit choice wins, then the system
// locale (German on a German system), then the organisation's default,
// then English. getenv is os.Getenv in production.
func Detect(explicit, orgDefault string, getenv func(string) string) string {
	if l := normalise(explicit); l != "" {
		return l
	}
	if l := systemLanguage(getenv); l != "" {
		return l
	}
	if l := normalise(orgDefault); l != "" {
		return l
	}
	return English
}

// DetectFromEnv is Detect with the process environment.
func DetectFromEnv(explicit, orgDefault string) string {
	return Detect(explicit, orgDefault, os.Getenv)
}

// systemLanguage follows gettext's order, as Fyne's locale lookup does:
// LC_ALL, LC_MESSAGES, LANG, and LANGUAGE unless the locale is C/POSIX.
func systemLanguage(getenv func(string) string) string {
	locale := ""
	for _, env := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if locale = getenv(env); locale != "" {
			break
		}
	}
	if locale == "C" || locale == "POSIX" {
		return ""
	}
	if langs := getenv("LANGUAGE"); langs != "" {
		for _, l := range strings.Split(langs, ":") {
			if n := normalise(l); n != "" {
				return n
			}
		}
	}
	return normalise(locale)
}

// normalise maps "de_DE.UTF-8", "de-AT", "DE" to "de"; unsupported gives "".
func normalise(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 2 {
		return ""
	}
	switch s[:2] {
	case German:
		if len(s) == 2 || s[2] == '_' || s[2] == '-' || s[2] == '.' {
			return German
		}
	case English:
		if len(s) == 2 || s[2] == '_' || s[2] == '-' || s[2] == '.' {
			return English
		}
	}
	return ""
}

// WindowEnv is env for a window process (Fyne) that shows lang. Fyne
// reads the locale while its packages initialise, before the window
// program's main can correct anything: from "C.UTF-8" it takes "C", which
// it cannot parse and logs as an error on every start; under plain "C" it
// ignores LANGUAGE and shows English. So LANGUAGE names lang, and a C or
// POSIX locale becomes C.UTF-8, under which LANGUAGE counts. The
// language itself was chosen by Detect.
func WindowEnv(env []string, lang string) []string {
	get := func(key string) string {
		v := ""
		for _, kv := range env {
			if k, val, ok := strings.Cut(kv, "="); ok && k == key {
				v = val // the last one wins, as in os/exec
			}
		}
		return v
	}
	effective := ""
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if effective = get(k); effective != "" {
			break
		}
	}
	out := append([]string(nil), env...)
	if effective == "" || effective == "C" || effective == "POSIX" {
		out = append(out, "LC_ALL=C.UTF-8")
	}
	return append(out, "LANGUAGE="+lang)
}
