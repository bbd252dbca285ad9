package support

import (
	"os"
	"path/filepath"
	"testing"
)

func fakeProc(tb testing.TB, comms map[string]string) string {
	tb.Helper()
	root := tb.TempDir()
	for pid, comm := range comms {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

func TestDetectSharing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		comms map[string]string
		want  string
	}{
		{"nothing", map[string]string{"1": "systemd", "200": "bash", "300": "firefox"}, ""},
		{"teamviewer", map[string]string{"1": "systemd", "4242": "TeamViewer"}, "TeamViewer"},
		{"anydesk", map[string]string{"77": "anydesk"}, "anydesk"},
		{"prefix_is_not_enough", map[string]string{"9": "obsidian"}, ""},
		{"non_pid_dirs_ignored", map[string]string{"self": "teamviewer", "10": "sshd"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := DetectSharing(fakeProc(t, tt.comms))
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("DetectSharing = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}
