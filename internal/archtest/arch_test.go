package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/dienstweg/dienstweg"

// pkg is what `go list -json` says of one package; Deps are all its
// non-test imports, direct and indirect.
type pkg struct {
	ImportPath string
	Name       string
	Imports    []string
	Deps       []string
}

// Binaries and what they must not link.
var binaryRules = map[string][]string{
	// The agent, the root helper and the command line: no GUI (Fyne,
	// OpenGL, cgo) and nothing of the organisation's side.
	module + "/app": {"fyne.io/fyne", "github.com/go-gl", "modernc.org/sqlite", "github.com/prometheus", module + "/internal/org"},
	// The windows: Fyne, but still nothing of the organisation's side.
	module + "/app/ui": {"modernc.org/sqlite", "github.com/prometheus", module + "/internal/org"},
}

// orgSide is the organisation's code: the portal, its store, the gateway,
// the demo organisation and dienstweg-portal.
func orgSide(path string) bool {
	return under(path, module+"/internal/org") || path == module+"/app/portal"
}

// testKit is a package made for tests (portaltest, helpertest, …): its
// name says so and it imports testing, so no program can use it. Test
// kits of the client may run the real portal and gateway.
func testKit(p pkg) bool {
	return strings.HasSuffix(p.Name, "test") && slices.Contains(p.Imports, "testing")
}

// under reports whether path is prefix or a package below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// violations lists every broken rule in pkgs.
func violations(pkgs []pkg) []string {
	var bad []string
	byPath := map[string]pkg{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	for bin, banned := range binaryRules {
		p, ok := byPath[bin]
		if !ok {
			bad = append(bad, bin+": not found by go list")
			continue
		}
		for _, dep := range p.Deps {
			for _, b := range banned {
				if under(dep, b) {
					bad = append(bad, bin+" links "+dep)
				}
			}
		}
	}
	for _, p := range pkgs {
		for _, dep := range p.Deps {
			switch {
			case orgSide(p.ImportPath) && (under(dep, "fyne.io/fyne") || under(dep, "github.com/go-gl")):
				bad = append(bad, "organisation package "+p.ImportPath+" imports the GUI: "+dep)
			// Benchmarks measure either side and ship in no binary.
			case !orgSide(p.ImportPath) && !testKit(p) && !under(p.ImportPath, module+"/bench") && orgSide(dep):
				bad = append(bad, "client package "+p.ImportPath+" imports organisation package "+dep)
			}
		}
	}
	return bad
}

// The client and the organisation's side stay apart, and the client
// binary carries no GUI, checked on the real import graph of this system
// and of Windows, whose build has files of its own.
func TestImportRules(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("listing packages needs the go tool: %v", err)
	}
	for _, goos := range []string{runtime.GOOS, "windows"} {
		t.Run(goos, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(goTool, "list", "-json=ImportPath,Name,Imports,Deps", module+"/...")
			// With cgo, as dienstweg-ui is built: that also lists the files
			// the agent would get if someone built it with cgo.
			cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, stderr.String())
			}
			var pkgs []pkg
			for dec := json.NewDecoder(bytes.NewReader(out)); ; {
				var p pkg
				if err := dec.Decode(&p); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("decoding go list: %v", err)
				}
				pkgs = append(pkgs, p)
			}
			// Guard against a pattern that lists nothing and so passes.
			if !slices.ContainsFunc(pkgs, func(p pkg) bool { return orgSide(p.ImportPath) }) {
				t.Fatalf("go list found no organisation package among %d", len(pkgs))
			}
			for _, v := range violations(pkgs) {
				t.Error(v)
			}
		})
	}
}

// The rules catch what they are for, and let test kits and benchmarks be.
func TestViolations(t *testing.T) {
	org := module + "/internal/org/portalsrv"
	ok := []pkg{
		{ImportPath: module + "/app", Deps: []string{"fyne.io/systray", module + "/internal/agent"}},
		{ImportPath: module + "/app/ui", Deps: []string{"fyne.io/fyne/v2", "github.com/go-gl/gl"}},
		{ImportPath: module + "/internal/helper/helpertest", Name: "helpertest", Imports: []string{"testing", org}, Deps: []string{org}},
		{ImportPath: module + "/bench/portal", Name: "main", Deps: []string{org}},
		{ImportPath: org, Deps: []string{module + "/internal/portal/api", "modernc.org/sqlite"}},
	}
	if v := violations(ok); len(v) != 0 {
		t.Errorf("violations in an allowed graph: %q", v)
	}
	for name, tc := range map[string]struct {
		change func([]pkg) []pkg
		want   string
	}{
		"agent links Fyne": {func(p []pkg) []pkg {
			p[0].Deps = append(p[0].Deps, "fyne.io/fyne/v2/app")
			return p
		}, module + "/app links fyne.io/fyne/v2/app"},
		"agent links the demo": {func(p []pkg) []pkg {
			p[0].Deps = append(p[0].Deps, module+"/internal/org/demo")
			return p
		}, module + "/app links " + module + "/internal/org/demo"},
		"client package imports the store": {func(p []pkg) []pkg {
			return append(p, pkg{ImportPath: module + "/internal/session", Name: "session", Deps: []string{module + "/internal/org/store"}})
		}, "client package " + module + "/internal/session imports organisation package " + module + "/internal/org/store"},
		"a kit without testing is no kit": {func(p []pkg) []pkg {
			p[2].Imports = []string{org}
			return p
		}, "client package " + module + "/internal/helper/helpertest imports organisation package " + org},
		"portal imports Fyne": {func(p []pkg) []pkg {
			p[4].Deps = append(p[4].Deps, "fyne.io/fyne/v2")
			return p
		}, "organisation package " + org + " imports the GUI: fyne.io/fyne/v2"},
		"windows link SQLite": {func(p []pkg) []pkg {
			p[1].Deps = append(p[1].Deps, "modernc.org/sqlite")
			return p
		}, module + "/app/ui links modernc.org/sqlite"},
	} {
		t.Run(name, func(t *testing.T) {
			graph := tc.change(slices.Clone(ok))
			if v := violations(graph); !slices.Contains(v, tc.want) {
				t.Errorf("violations = %q, want %q", v, tc.want)
			}
		})
	}
}
