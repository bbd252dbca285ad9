package desktop

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/profile"
)

var office = profile.OfficeDesktop{Name: "Arbeitsplatz Bürgerbüro", Kind: profile.DesktopRDP, Address: "rds.musterstadt.example"}

// only is a PATH with exactly the named programs.
func only(names ...string) func(string) (string, error) {
	return func(n string) (string, error) {
		if slices.Contains(names, n) {
			return "/usr/bin/" + n, nil
		}
		return "", errors.New("not found")
	}
}

func TestChoose(t *testing.T) {
	t.Parallel()
	web := profile.OfficeDesktop{Name: "Virtueller Arbeitsplatz", Kind: profile.DesktopWeb, Address: "https://vdi.musterstadt.example/?a=1&b=2"}
	withFP := office
	withFP.CertSHA256 = strings.Repeat("AB:", 31) + "AB"
	tests := []struct {
		name       string
		d          profile.OfficeDesktop
		goos       string
		path       []string
		wayland    bool
		wantClient string
		wantArgv   []string
	}{
		{"linux_remmina_first", office, "linux", []string{"remmina", "xfreerdp"}, false, ClientRemmina,
			[]string{"/usr/bin/remmina", "-c", "rdp://rds.musterstadt.example:3389"}},
		{"linux_xfreerdp", office, "linux", []string{"xfreerdp"}, false, ClientXFreeRDP,
			[]string{"/usr/bin/xfreerdp", "/v:rds.musterstadt.example:3389", "/t:Arbeitsplatz Bürgerbüro", "/cert:tofu", "/dynamic-resolution", "+clipboard"}},
		{"linux_xfreerdp3_before_2", office, "linux", []string{"xfreerdp", "xfreerdp3"}, false, ClientXFreeRDP, nil},
		{"wayland_wlfreerdp", office, "linux", []string{"xfreerdp", "wlfreerdp"}, true, ClientWFreeRDP, nil},
		{"fingerprint_pins_the_certificate", withFP, "linux", []string{"xfreerdp"}, false, ClientXFreeRDP,
			[]string{"/usr/bin/xfreerdp", "/v:rds.musterstadt.example:3389", "/t:Arbeitsplatz Bürgerbüro", "/cert:fingerprint:sha256:" + strings.Repeat("ab:", 31) + "ab", "/dynamic-resolution", "+clipboard"}},
		{"windows_mstsc", office, "windows", []string{"mstsc.exe"}, false, ClientMstsc, []string{"/usr/bin/mstsc.exe", RDPFilePlaceholder}},
		{"web_linux", web, "linux", []string{"xdg-open", "remmina"}, false, ClientBrowser, []string{"/usr/bin/xdg-open", web.Address}},
		{"web_windows", web, "windows", []string{"rundll32.exe"}, false, ClientBrowser, []string{"/usr/bin/rundll32.exe", "url.dll,FileProtocolHandler", web.Address}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := Env{GOOS: tt.goos, LookPath: only(tt.path...), Getenv: func(k string) string {
				if k == "WAYLAND_DISPLAY" && tt.wayland {
					return "wayland-0"
				}
				return ""
			}}
			p, err := Choose(tt.d, env)
			if err != nil {
				t.Fatalf("Choose: %v", err)
			}
			if p.Client != tt.wantClient {
				t.Errorf("client = %s, want %s", p.Client, tt.wantClient)
			}
			if tt.wantArgv != nil && !slices.Equal(p.Argv, tt.wantArgv) {
				t.Errorf("argv = %q\nwant   %q", p.Argv, tt.wantArgv)
			}
			if tt.name == "linux_xfreerdp3_before_2" && p.Argv[0] != "/usr/bin/xfreerdp3" {
				t.Errorf("argv[0] = %s, want FreeRDP 3 first", p.Argv[0])
			}
			if (p.RDPFile != nil) != (p.Client == ClientMstsc) {
				t.Errorf("rdp file %q for client %s", p.RDPFile, p.Client)
			}
		})
	}
}

// No client: the message names what to install, in both languages.
func TestChooseNamesWhatToInstall(t *testing.T) {
	t.Parallel()
	for _, goos := range []string{"linux", "windows"} {
		_, err := Choose(office, Env{GOOS: goos, LookPath: only()})
		p, ok := problem.As(err)
		if !ok || p.Kind != problem.NotSupported || p.Msg.Key != KeyNoClient {
			t.Fatalf("%s: err = %v, want %s", goos, err, KeyNoClient)
		}
		for _, lang := range []string{i18n.German, i18n.English} {
			cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, lang)
			if err != nil {
				t.Fatal(err)
			}
			text := cat.T(p.Msg.Key, p.Msg.Args)
			want := map[string]string{"linux": "freerdp2-x11", "windows": "mstsc"}[goos]
			if !strings.Contains(text, want) || !strings.Contains(text, office.Name) {
				t.Errorf("%s %s: %q does not name %s and the desktop", goos, lang, text, want)
			}
		}
	}
}

// The .rdp file names the host and asks for the credentials; it holds
// nothing secret, not even the user name.
func TestRDPFile(t *testing.T) {
	t.Parallel()
	f := string(RDPFile(office))
	for _, want := range []string{"full address:s:rds.musterstadt.example:3389\r\n", "prompt for credentials:i:1\r\n"} {
		if !strings.Contains(f, want) {
			t.Errorf("rdp file lacks %q:\n%s", want, f)
		}
	}
	for _, bad := range []string{"password", "username"} {
		if strings.Contains(strings.ToLower(f), bad) {
			t.Errorf("rdp file holds %q:\n%s", bad, f)
		}
	}
}

// Start writes the .rdp file for the program and removes it when the
// program ends.
func TestStartRemovesTheRDPFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	sh, err := os.ReadFile("/bin/sh")
	if err != nil || len(sh) == 0 {
		t.Skip("no /bin/sh")
	}
	p := Plan{Client: ClientMstsc, Argv: []string{"/bin/sh", "-c", `cp "$0" ` + seen, RDPFilePlaceholder}, RDPFile: RDPFile(office)}
	wait, err := Start(context.Background(), p, dir, nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := wait(); err != nil {
		t.Fatalf("program: %v", err)
	}
	got, err := os.ReadFile(seen)
	if err != nil || string(got) != string(RDPFile(office)) {
		t.Errorf("the program read %q, %v", got, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.rdp"))
	if len(left) != 0 {
		t.Errorf(".rdp file left behind: %v", left)
	}
}

func TestButtonLabels(t *testing.T) {
	t.Parallel()
	if l := ButtonLabels([]string{"A"}); len(l) != 1 || l[0].Key != KeyOpen {
		t.Errorf("one desktop: %v", l)
	}
	if l := ButtonLabels([]string{"A", "B"}); l[1].Key != KeyOpenNamed || l[1].Args["Desktop"] != "B" {
		t.Errorf("two desktops: %v", l)
	}
}

func TestTranslationKeysExist(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{i18n.German, i18n.English} {
		cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, lang)
		if err != nil {
			t.Fatal(err)
		}
		keys := TranslationKeys()
		for _, c := range []string{ClientMstsc, ClientRemmina, ClientXFreeRDP, ClientWFreeRDP, ClientBrowser} {
			keys = append(keys, "desktop.client."+c)
		}
		have := map[string]bool{}
		for _, k := range cat.Keys(lang) {
			have[k] = true
		}
		for _, k := range keys {
			if !have[k] {
				t.Errorf("%s: no translation for %s", lang, k)
			}
		}
	}
}
