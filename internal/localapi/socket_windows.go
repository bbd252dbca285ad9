//go:build windows

package localapi

import (
	"fmt"
	"os"
)

// checkPrivateDir relies on the per-user ACL of %LOCALAPPDATA%.
func checkPrivateDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking socket directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("socket directory %s is not a directory", dir)
	}
	return nil
}
