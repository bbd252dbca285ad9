package policy

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const repoRoot = "../.."

// xmllint validates data against the ADMX schema subset; it fails the
// test when the tool is missing (Debian libxml2-utils, scripts/deps.sh).
func xmllint(t *testing.T, name string, data []byte) error {
	t.Helper()
	tool, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint not found: install the Debian package libxml2-utils (scripts/deps.sh)")
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "--noout", "--schema", filepath.Join("testdata", "admx-subset.xsd"), path).CombinedOutput()
	if err != nil {
		return &lintError{string(out)}
	}
	return nil
}

type lintError struct{ out string }

func (e *lintError) Error() string { return e.out }

func TestTemplateValidates(t *testing.T) {
	t.Parallel()
	if err := xmllint(t, ADMXName, ADMX()); err != nil {
		t.Errorf("ADMX does not validate:\n%v", err)
	}
	for _, c := range ADMLCultures {
		if err := xmllint(t, c.Culture+".adml", ADML(c.Lang)); err != nil {
			t.Errorf("ADML %s does not validate:\n%v", c.Culture, err)
		}
	}
}

// TestValidatorRejects shows the check has teeth: templates with a
// policy lacking its supportedOn, a wrong class and a reference that is
// no $(string.…) fail.
func TestValidatorRejects(t *testing.T) {
	t.Parallel()
	good := string(ADMX())
	for name, broken := range map[string]string{
		"no_supported_on": strings.Replace(good, `      <supportedOn ref="SUPPORTED_Dienstweg"/>`+"\n", "", 1),
		"bad_class":       strings.Replace(good, `class="Machine"`, `class="Computer"`, 1),
		"bad_reference":   strings.Replace(good, `displayName="$(string.TunnelMode)"`, `displayName="TunnelMode"`, 1),
	} {
		if broken == good {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if err := xmllint(t, name+".admx", []byte(broken)); err == nil {
			t.Errorf("%s: a broken template validated", name)
		}
	}
}

// TestTemplateReferencesResolve checks what the XML schema cannot: every
// string and presentation the ADMX names exists in each ADML, and every
// presentation control refers to an element of its policy.
func TestTemplateReferencesResolve(t *testing.T) {
	t.Parallel()
	admx := string(ADMX())
	refs := regexp.MustCompile(`\$\((string|presentation)\.([A-Za-z0-9_]+)\)`).FindAllStringSubmatch(admx, -1)
	ids := regexp.MustCompile(`<(?:enum|decimal|text) id="([A-Za-z0-9_]+)"`).FindAllStringSubmatch(admx, -1)
	elementIDs := map[string]bool{}
	for _, m := range ids {
		elementIDs[m[1]] = true
	}
	for _, c := range ADMLCultures {
		var res struct {
			Strings []struct {
				ID string `xml:"id,attr"`
			} `xml:"resources>stringTable>string"`
			Presentations []struct {
				ID       string `xml:"id,attr"`
				Controls []struct {
					RefID string `xml:"refId,attr"`
				} `xml:",any"`
			} `xml:"resources>presentationTable>presentation"`
		}
		if err := xml.Unmarshal(ADML(c.Lang), &res); err != nil {
			t.Fatalf("ADML %s: %v", c.Culture, err)
		}
		have := map[string]bool{}
		controls := 0
		for _, s := range res.Strings {
			have["string."+s.ID] = true
		}
		for _, p := range res.Presentations {
			have["presentation."+p.ID] = true
			for _, ctl := range p.Controls {
				controls++
				if !elementIDs[ctl.RefID] {
					t.Errorf("ADML %s: presentation %s refers to %q, no element of the ADMX", c.Culture, p.ID, ctl.RefID)
				}
			}
		}
		if controls != len(elementIDs) {
			t.Errorf("ADML %s: %d presentation controls for %d elements", c.Culture, controls, len(elementIDs))
		}
		for _, r := range refs {
			if !have[r[1]+"."+r[2]] {
				t.Errorf("ADML %s lacks %s.%s that the ADMX uses", c.Culture, r[1], r[2])
			}
		}
	}
}

// TestGeneratedFilesAreCommitted: the template and docs/policy.md in the
// repository are what the schema generates (`go generate ./internal/policy`).
func TestGeneratedFilesAreCommitted(t *testing.T) {
	t.Parallel()
	for path, want := range Generated() {
		got, err := os.ReadFile(filepath.Join(repoRoot, path))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./internal/policy)", path, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the schema generates; run go generate ./internal/policy", path)
		}
	}
}

// TestSchemaIsComplete: each setting has both languages, a default of
// its own type and names that Windows and the ADMX accept.
func TestSchemaIsComplete(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range Schema {
		if seen[s.Key] || seen[s.RegistryName()] {
			t.Errorf("%s: given twice", s.Key)
		}
		seen[s.Key], seen[s.RegistryName()] = true, true
		if s.Title.De == "" || s.Title.En == "" || s.Help.De == "" || s.Help.En == "" || s.UsedBy == "" {
			t.Errorf("%s: title, help (de and en) and UsedBy are required", s.Key)
		}
		if _, err := s.Check(s.Default); err != nil {
			t.Errorf("%s: default: %v", s.Key, err)
		}
		if !regexp.MustCompile(`^[a-z][a-z_]*$`).MatchString(s.Key) {
			t.Errorf("%s: keys are lower snake case", s.Key)
		}
	}
}
