package assets_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/desktop"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/update"
)

var languages = []string{"de", "en"}

// Every key that any package can emit has a German and an English text,
// so no window, tray menu or command shows a bare key. Keys written out in
// the source are found by reading all of it; keys put together at run
// time come from the lists of the packages that build them.
func TestEveryEmittedKeyIsTranslated(t *testing.T) {
	t.Parallel()
	texts := translations(t)
	src := scanSource(t, namespaces(t, texts), "../internal", "../app")

	// The scan must see the packages that emit keys; an empty or partial
	// scan would pass without checking anything.
	for _, k := range []string{session.KeyAuthorising, portal.KeyWrongCode, health.KeyOK, update.ManagedMessageKey, "code.format", "tray.quit", "cli.enter_code"} {
		if _, ok := src.keys[k]; !ok {
			t.Errorf("the scan did not find %q; is it still reading ./internal and ./app?", k)
		}
	}

	emitted := map[string]string{} // key → where it comes from
	for k, pos := range src.keys {
		emitted[k] = pos
	}
	built := runtimeKeys(t)
	for _, k := range built {
		emitted[k] = "a key built at run time"
	}
	for prefix, pos := range src.prefixes {
		if !slices.ContainsFunc(built, func(k string) bool { return strings.HasPrefix(k, prefix) }) {
			t.Errorf("%s: keys are built from %q at run time; add their list to runtimeKeys", pos, prefix)
		}
	}
	for _, lang := range languages {
		for k, where := range emitted {
			if _, ok := texts[lang][k]; !ok {
				t.Errorf("%s: %q has no %s text", where, k, lang)
			}
		}
	}
}

// German and English have the same keys, none of them empty.
func TestLanguagesMatch(t *testing.T) {
	t.Parallel()
	texts := translations(t)
	for _, a := range languages {
		for k, v := range texts[a] {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %q is empty", a, k)
			}
			for _, b := range languages {
				if _, ok := texts[b][k]; !ok {
					t.Errorf("%q is in %s but not in %s", k, a, b)
				}
			}
		}
	}
}

// runtimeKeys are the keys put together from a prefix and a value, from
// the lists of the packages that own the values.
func runtimeKeys(t *testing.T) []string {
	keys := append(enroll.MessageKeys(), health.TranslationKeys()...)
	keys = append(keys, situation.TranslationKeys()...)
	keys = append(keys, desktop.TranslationKeys()...)
	keys = append(keys, policy.TranslationKeys()...)
	for _, s := range state.Sessions() {
		keys = append(keys, "state."+s.String(), "next."+s.String())
	}
	for _, sev := range constants(t, "../internal/portal/api", func(name, _ string) bool { return strings.HasPrefix(name, "Severity") }) {
		keys = append(keys, "announce.severity."+sev)
	}
	for _, c := range constants(t, "../internal/update", func(_, typ string) bool { return typ == "Code" }) {
		keys = append(keys, update.MessageKey(update.Code(c)))
	}
	for _, st := range constants(t, "../internal/update", func(name, _ string) bool { return strings.HasPrefix(name, "State") }) {
		keys = append(keys, "update.state."+st)
	}
	return keys
}

func translations(t *testing.T) map[string]map[string]string {
	t.Helper()
	texts := map[string]map[string]string{}
	for _, lang := range languages {
		b, err := fs.ReadFile(assets.Translations, path.Join(assets.TranslationsDir, lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s.json: %v", lang, err)
		}
		texts[lang] = m
	}
	return texts
}

// namespaces are the first parts of keys: those the translations use
// (true), and the names of the packages (false), where a new one would
// come from. A folder without Go files (internal/org) only groups
// packages and is no namespace: "org.freedesktop.secrets" is a D-Bus name.
func namespaces(t *testing.T, texts map[string]map[string]string) map[string]bool {
	t.Helper()
	ns := map[string]bool{}
	err := filepath.WalkDir("../internal", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
			ns[filepath.Base(filepath.Dir(p))] = false
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range texts {
		for k := range m {
			ns[first(k)] = true
		}
	}
	return ns
}

var (
	keyShape    = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)
	prefixShape = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*[._]$`)
	// File names share the shape of keys ("agent.sock", "state.json").
	fileName = regexp.MustCompile(`\.(json|sock|db|log|zip|toml|txt|png|svg|pid|md|pdf|pem|xml|admx|adml)$`)
)

type scan struct {
	keys     map[string]string // literal key → file:line
	prefixes map[string]string // literal prefix of a key built at run time → file:line
}

// scanSource reads every non-test Go file below roots: a string literal
// in the shape of a key whose first part is a namespace is a key; a
// literal ending in "." or "_" on the left of a + is a key's prefix if
// its first part is a namespace of the translations ("gateway." + zone
// is a host name).
func scanSource(t *testing.T, ns map[string]bool, roots ...string) scan {
	t.Helper()
	s := scan{keys: map[string]string{}, prefixes: map[string]string{}}
	fset := token.NewFileSet()
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir() && d.Name() == "testdata":
				return filepath.SkipDir
			case d.IsDir() && (p == "../internal/org" || p == "../app/portal"):
				// The organisation's side shows none of these texts; its
				// audit actions ("session.authorise") only look like keys.
				return filepath.SkipDir
			case d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go"):
				return nil
			}
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if v, ok := stringLit(n); ok && keyShape.MatchString(v) && !fileName.MatchString(v) && hasNS(ns, v) {
						s.keys[v] = fset.Position(n.Pos()).String()
					}
				case *ast.BinaryExpr:
					lit, _ := n.X.(*ast.BasicLit)
					if v, ok := stringLit(lit); ok && n.Op == token.ADD && prefixShape.MatchString(v) && ns[first(v)] {
						s.prefixes[v] = fset.Position(n.Pos()).String()
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatalf("reading %s: %v", root, err)
		}
	}
	return s
}

func first(key string) string { return strings.SplitN(key, ".", 2)[0] }

func hasNS(ns map[string]bool, key string) bool {
	_, ok := ns[first(key)]
	return ok
}

func stringLit(l *ast.BasicLit) (string, bool) {
	if l == nil || l.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(l.Value)
	return v, err == nil
}

// constants are the string values of the constants in the package in dir
// that match by name or by declared type.
func constants(t *testing.T, dir string, match func(name, typ string) bool) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var vals []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				typ := ""
				if id, ok := vs.Type.(*ast.Ident); ok {
					typ = id.Name
				}
				for i, name := range vs.Names {
					if i >= len(vs.Values) || !match(name.Name, typ) {
						continue
					}
					if v, ok := stringLit(asLit(vs.Values[i])); ok {
						vals = append(vals, v)
					}
				}
			}
		}
	}
	if len(vals) == 0 {
		t.Fatalf("no matching constants in %s", dir)
	}
	return vals
}

func asLit(e ast.Expr) *ast.BasicLit {
	l, _ := e.(*ast.BasicLit)
	return l
}
