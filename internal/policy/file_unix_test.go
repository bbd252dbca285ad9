//go:build unix

package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePolicy writes a policy file in a fresh directory as this process's
// user, with mode perm.
func writePolicy(t *testing.T, body string, perm os.FileMode) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "dienstweg")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(path, []byte(body), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func TestLoadFileOwnershipAndMode(t *testing.T) {
	t.Parallel()
	me := os.Getuid()
	const body = `{"tunnel_mode": "userspace", "allow_reenroll": false}`
	type testCase struct {
		name    string
		perm    os.FileMode
		trusted int // the owner besides root that counts as IT's
		setup   func(t *testing.T, path string)
		// wantProblem is part of the one problem; "" means the values apply.
		wantProblem string
	}
	tests := []testCase{
		{name: "owned_and_private", perm: 0o644, trusted: me},
		{name: "writable_by_group", perm: 0o664, trusted: me, wantProblem: "may be changed by others than root"},
		{name: "writable_by_all", perm: 0o646, trusted: me, wantProblem: "may be changed by others than root"},
		{name: "directory_writable_by_all", perm: 0o644, trusted: me, wantProblem: "its directory",
			setup: func(t *testing.T, path string) {
				if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "symbolic_link", perm: 0o644, trusted: me, wantProblem: "symbolic link",
			setup: func(t *testing.T, path string) {
				real := path + ".real"
				if err := os.Rename(path, real); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(real, path); err != nil {
					t.Fatal(err)
				}
			}},
	}
	if me == 0 {
		// As root (CI containers): a file that really belongs to nobody.
		tests = append(tests, testCase{name: "owned_by_nobody", perm: 0o644, trusted: 0, wantProblem: "belongs to uid 65534",
			setup: func(t *testing.T, path string) {
				if err := os.Chown(path, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			}})
	} else {
		// Not root: this user's own file, when only root is trusted.
		tests = append(tests, testCase{name: "owned_by_a_user", perm: 0o644, trusted: 0, wantProblem: "not root"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writePolicy(t, body, tt.perm)
			if tt.setup != nil {
				tt.setup(t, path)
			}
			p := loadFile(path, tt.trusted)
			if p.Origin != path {
				t.Errorf("Origin = %q, want %q", p.Origin, path)
			}
			if tt.wantProblem == "" {
				if len(p.Problems) != 0 || p.Values[KeyTunnelMode] != "userspace" || p.Values[KeyAllowReenroll] != false {
					t.Errorf("loadFile = %+v, want both values and no problem", p)
				}
				return
			}
			if len(p.Values) != 0 {
				t.Errorf("values of an untrusted file applied: %v", p.Values)
			}
			if len(p.Problems) != 1 || !strings.Contains(p.Problems[0], tt.wantProblem) || !strings.Contains(p.Problems[0], "ignored") {
				t.Errorf("Problems = %q, want one naming %q", p.Problems, tt.wantProblem)
			}
		})
	}
}

func TestLoadFileContent(t *testing.T) {
	t.Parallel()
	me := os.Getuid()
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		p := loadFile(filepath.Join(t.TempDir(), "policy.json"), me)
		if p.Origin != "" || len(p.Values) != 0 || len(p.Problems) != 0 {
			t.Errorf("a missing file gave %+v, want no policy", p)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		t.Parallel()
		p := loadFile(writePolicy(t, `{"tunnel_mode": `, 0o644), me)
		if len(p.Values) != 0 || len(p.Problems) != 1 {
			t.Errorf("malformed file gave %+v", p)
		}
	})
	t.Run("bad_keys_alone_are_ignored", func(t *testing.T) {
		t.Parallel()
		p := loadFile(writePolicy(t, `{"tunnel_mod": "system", "expiry_warning_minutes": 500, "auto_start": "yes", "language": "en"}`, 0o644), me)
		if len(p.Values) != 1 || p.Values[KeyLanguage] != "en" {
			t.Errorf("Values = %v, want only language", p.Values)
		}
		if len(p.Problems) != 3 {
			t.Errorf("Problems = %q, want three", p.Problems)
		}
	})
}
