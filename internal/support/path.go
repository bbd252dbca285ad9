package support

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/atomicfile"
)

// reportMode: the bundle names the person, the device and its errors, so
// only its owner may read it, on a shared desktop as in /tmp.
const reportMode = 0o600

// SaveReport writes the diagnostics bundle that write produces to path,
// complete or not at all, readable by its owner only. The support window
// and `dienstweg diag` both save through it.
func SaveReport(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, reportMode, write)
}

// ReportPath is where "Diagnosebericht speichern" puts the bundle: on the
// desktop, where the employee finds it to attach to an e-mail, with the
// time in its name so a second report never overwrites the first.
func ReportPath(now time.Time) string {
	return filepath.Join(desktopDir(), "dienstweg-bericht-"+now.Format("2006-01-02-150405")+".zip")
}

// desktopDir follows the XDG user-dirs convention (the desktop may be
// called "Schreibtisch"), falling back to the home directory.
func desktopDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return os.TempDir()
	}
	if d := os.Getenv("XDG_DESKTOP_DIR"); d != "" && isDir(d) {
		return d
	}
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" {
		cfg = filepath.Join(home, ".config")
	}
	if f, err := os.Open(filepath.Join(cfg, "user-dirs.dirs")); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, ok := strings.CutPrefix(line, "XDG_DESKTOP_DIR="); ok {
				d := strings.ReplaceAll(strings.Trim(v, `"`), "$HOME", home)
				if isDir(d) {
					return d
				}
			}
		}
	}
	for _, name := range []string{"Schreibtisch", "Desktop"} {
		if d := filepath.Join(home, name); isDir(d) {
			return d
		}
	}
	return home
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
