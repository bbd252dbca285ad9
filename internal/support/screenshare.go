package support

import (
	"os"
	"path/filepath"
	"strings"
)

// sharingTools are the processes of remote-support and screen-sharing
// programs that helpdesks and employees use. Their running is as close as
// Linux comes to telling that the screen is being shared.
var sharingTools = []string{
	"teamviewer", "TeamViewer", "anydesk", "rustdesk", "x11vnc", "krfb",
	"vino-server", "remmina", "zoom", "teams", "Webex", "obs",
}

// DetectSharing looks in procRoot ("/proc") for a running screen-sharing
// program and returns its name. It reads only the short command names.
func DetectSharing(procRoot string) (string, bool) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "comm"))
		if err != nil {
			continue // gone, or not ours to read
		}
		comm := strings.TrimSpace(string(b))
		for _, tool := range sharingTools {
			if strings.EqualFold(comm, tool) || strings.HasPrefix(strings.ToLower(comm), strings.ToLower(tool)+"_") {
				return comm, true
			}
		}
	}
	return "", false
}
